"""GET/POST /status: reference + PIN show the case and staff replies; a reference alone reveals nothing."""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session, select

from casework.models import (
    Case,
    CaseEvent,
    CaseStatus,
    ChannelKind,
    DeliveryStatus,
    Direction,
    Message,
    ProcessingState,
    utcnow,
)
from casework.web_intake import PIN_MAX_FAILURES
from tests.app.public_support import count, submit_report, view_token

GENERIC_FAILURE_ES = "No pudimos abrir un caso con este número y este PIN."


def add_staff_reply(session: Session, case: Case, body: str, kind: str = "reply") -> None:
    session.add(
        Message(
            case_id=case.id,
            reporter_id=case.reporter_id,
            direction=Direction.OUTBOUND,
            channel=ChannelKind.WEB,
            kind=kind,
            body=body,
            language="es",
            delivery_status=DeliveryStatus.SUPPRESSED,
        )
    )
    session.commit()


def open_status(client: FlaskClient, reference: str, pin: str, lang: str = "es") -> Any:
    return client.post(f"/status?lang={lang}", data={"reference": reference, "pin": pin})


def test_right_pin_shows_state_and_staff_replies_in_the_reporters_language(
    client: FlaskClient, session: Session
) -> None:
    reference, pin, _ = submit_report(client)
    case = session.exec(select(Case)).one()
    case.status = CaseStatus.IN_MEDIATION
    session.add(case)
    add_staff_reply(session, case, "Hemos contactado a su empleador.")
    add_staff_reply(session, case, "Tulay: recibimos su mensaje.", kind="ack")  # automatic, not a staff reply
    response = open_status(client, reference.lower().replace("-", " "), pin)  # as a reporter might type it
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Caso {reference}" in html and "Estado: en mediación" in html
    assert "Hemos contactado a su empleador." in html
    assert "recibimos su mensaje" not in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "Salir" in html  # an explicit way out on a shared phone
    assert "csrf" not in response.headers.get("Set-Cookie", "").lower()
    events = session.exec(select(CaseEvent.action).where(CaseEvent.case_id == case.id)).all()
    assert "status_viewed" in events


def test_staff_reply_with_markup_renders_inert(client: FlaskClient, session: Session) -> None:
    reference, pin, _ = submit_report(client)
    add_staff_reply(session, session.exec(select(Case)).one(), '<img src=x onerror="alert(1)">ok')
    html = open_status(client, reference, pin).get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;ok" in html


def test_unknown_reference_and_wrong_pin_get_the_same_answer(client: FlaskClient) -> None:
    reference, pin, _ = submit_report(client)
    wrong_pin = open_status(client, reference, "000000" if pin != "000000" else "111111")
    unknown = open_status(client, "ZZZZ-ZZZZ", pin)
    malformed = open_status(client, "<script>", "")
    for response in (wrong_pin, unknown, malformed):
        assert response.status_code == 400
        assert GENERIC_FAILURE_ES in response.get_data(as_text=True)
    # The CSRF token carries a timestamp (seconds), so it may differ between two requests.
    bodies = {re.sub(rb'name="csrf_token" value="[^"]*"', b"", r.get_data()) for r in (wrong_pin, unknown, malformed)}
    assert len(bodies) == 1


def test_unknown_reference_takes_as_long_as_a_wrong_pin(client: FlaskClient) -> None:
    reference, _pin, _ = submit_report(client)

    def timed(ref: str) -> float:
        start = time.perf_counter()
        open_status(client, ref, "999999")
        return time.perf_counter() - start

    wrong = statistics.median(timed(reference) for _ in range(3))
    unknown = statistics.median(timed("ZZZZ-ZZZZ") for _ in range(3))
    # Both pay for one argon2 verification; without the dummy hash the unknown case is ~100x faster.
    assert unknown > wrong / 3, (unknown, wrong)


def test_repeated_wrong_pins_lock_the_case_then_it_opens_again(client: FlaskClient, session: Session) -> None:
    reference, pin, _ = submit_report(client)
    wrong = "000000" if pin != "000000" else "111111"
    for _ in range(PIN_MAX_FAILURES):
        assert open_status(client, reference, wrong).status_code == 400
    locked = open_status(client, reference, pin)
    assert locked.status_code == 400 and GENERIC_FAILURE_ES in locked.get_data(as_text=True)
    session.expire_all()
    case = session.exec(select(Case)).one()
    assert case.pin_locked_until is not None and case.pin_locked_until > utcnow()
    case.pin_locked_until = utcnow() - timedelta(seconds=1)  # the lock has run out
    session.add(case)
    session.commit()
    assert open_status(client, reference, pin).status_code == 200
    session.expire_all()
    assert session.exec(select(Case)).one().pin_failures == 0
    reasons = [
        e.detail.get("reason") for e in session.exec(select(CaseEvent)).all() if e.action == "status_pin_refused"
    ]
    assert reasons.count("wrong_pin") == PIN_MAX_FAILURES - 1 and "locked_now" in reasons and "locked" in reasons


def test_adding_a_message_attaches_it_to_the_case_for_the_worker(
    client: FlaskClient, session: Session, run_jobs: Any
) -> None:
    reference, pin, _ = submit_report(client, lang="ar")
    token = view_token(open_status(client, reference, pin, lang="ar").get_data(as_text=True))
    response = client.post("/status?lang=ar", data={"token": token, "body": "صاحب العمل هددني اليوم"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "أُضيفت رسالتك إلى حالتك." in html and 'dir="rtl"' in html
    case = session.exec(select(Case)).one()
    added = session.exec(select(Message).order_by(Message.id.desc())).first()  # type: ignore[union-attr]
    assert added is not None
    assert (added.case_id, added.reporter_id, added.channel) == (case.id, case.reporter_id, "web")
    assert (added.body, added.language, added.processing_state) == ("صاحب العمل هددني اليوم", "ar", "received")
    session.rollback()
    run_jobs()
    session.expire_all()
    states = session.exec(select(Message.processing_state).where(Message.direction == Direction.INBOUND)).all()
    assert states == [ProcessingState.PROCESSED, ProcessingState.PROCESSED]
    assert count(session, Case) == 1


@pytest.mark.parametrize(
    ("label", "token"),
    [
        ("forged", "eyJjYXNlIjoxfQ.forged.signature"),
        ("empty", ""),
    ],
)
def test_a_bad_page_token_stores_nothing(client: FlaskClient, session: Session, label: str, token: str) -> None:
    submit_report(client)
    before = count(session, Message)
    response = client.post("/status?lang=es", data={"token": token, "body": "hola"})
    assert response.status_code == 400, label
    assert "Esta página ha caducado." in response.get_data(as_text=True)
    assert count(session, Message) == before


def test_an_expired_page_token_stores_nothing(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.public as public

    reference, pin, _ = submit_report(client)
    token = view_token(open_status(client, reference, pin).get_data(as_text=True))
    monkeypatch.setattr(public, "STATUS_VIEW_SECONDS", -1)
    response = client.post("/status?lang=es", data={"token": token, "body": "hola"})
    assert response.status_code == 400
    assert count(session, Message) == 1


def test_empty_follow_up_re_renders_with_a_message(client: FlaskClient, session: Session) -> None:
    reference, pin, _ = submit_report(client)
    token = view_token(open_status(client, reference, pin).get_data(as_text=True))
    response = client.post("/status?lang=es", data={"token": token, "body": "  "})
    assert response.status_code == 400 and "Escriba su mensaje." in response.get_data(as_text=True)
    assert count(session, Message) == 1


def test_status_form_page(client: FlaskClient) -> None:
    html = client.get("/status?lang=ur").get_data(as_text=True)
    assert '<html lang="ur" dir="rtl">' in html
    assert 'type="password" inputmode="numeric"' in html and 'autocomplete="off"' in html
