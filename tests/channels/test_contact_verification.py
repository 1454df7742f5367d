"""A number typed into the web form links to nothing until its owner proves it with a code.

The attack these tests reproduce (an outside security test found it): someone who knows a
worker's phone number files a web report giving that number, gets a case and PIN, and waits.
The worker's next SMS must not land in the attacker's case, no reply to the worker may be
readable there, and the worker's phone must never be told the attacker's case reference.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from app.db import session_scope
from casework.models import Case, ContactVerification, DeliveryStatus, Direction, Message, Reporter
from casework.outbox import queue_outbound
from casework.verification import MAX_CODE_SENDS, MAX_FAILED_ATTEMPTS
from tests.app.public_support import REPORT, submit_report, view_token
from tests.channels.conftest import load_payload
from tests.fakes import FakeTwilio

WORKER = "+15555550142"


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    # These tests post to /status many times; the per-client limit is tested elsewhere.
    return {**config, "PUBLIC_RATE_LIMIT": "1000 per minute"}


def sms(text: str, sid: str) -> dict[str, str]:
    return {**load_payload("sms_basic"), "From": WORKER, "Body": text, "MessageSid": sid, "SmsSid": sid}


def case_of(reference: str) -> Case:
    with session_scope() as session:
        return session.exec(select(Case).where(Case.reference == reference)).one()


def case_of_message(sid: str) -> Case:
    with session_scope() as session:
        message = session.exec(select(Message).where(Message.provider_id == sid)).one()
        return session.get_one(Case, message.case_id)


def open_status(client: FlaskClient, reference: str, pin: str) -> str:
    response = client.post("/status?lang=en", data={"reference": reference, "pin": pin})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def codes_sent(fake_twilio: FakeTwilio) -> list[str]:
    """The bodies of the code messages sent so far (in whatever language the case is in)."""
    return [form["Body"] for form in fake_twilio.sent if form["To"] == WORKER and re.search(r"\b\d{6}\b", form["Body"])]


def sent_code(fake_twilio: FakeTwilio) -> str:
    [body] = codes_sent(fake_twilio)
    found = re.search(r"\b(\d{6})\b", body)
    assert found
    return found.group(1)


def test_a_web_report_giving_a_workers_number_cannot_take_over_their_conversation(
    client: FlaskClient, post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    assert post_signed("/channels/twilio/sms", sms("They took my passport", "SM" + "a1" * 16)).status_code == 200
    run_jobs()
    case_a = case_of_message("SM" + "a1" * 16)

    reference_b, pin_b, _ = submit_report(client, lang="en", phone=WORKER, consent="yes")
    run_jobs()

    assert (
        post_signed("/channels/twilio/sms", sms("I am hiding at St Mary church", "SM" + "b2" * 16)).status_code == 200
    )
    run_jobs()
    assert case_of_message("SM" + "b2" * 16).id == case_a.id  # the worker's own case, not the attacker's

    # Staff answer the worker on their case, and (not knowing) the attacker on case B.
    with session_scope() as session:
        worker = session.get_one(Reporter, case_a.reporter_id)
        queue_outbound(session, reporter=worker, case=case_a, body="We are coming to St Mary", kind="reply")
        case_b = session.exec(select(Case).where(Case.reference == reference_b)).one()
        attacker = session.get_one(Reporter, case_b.reporter_id)
        reply_b = queue_outbound(session, reporter=attacker, case=case_b, body="Reply on case B", kind="reply")
        assert reply_b.delivery_status == DeliveryStatus.SUPPRESSED  # an unproven number is never sent to
    run_jobs()

    page = open_status(client, reference_b, pin_b)
    assert "St Mary" not in page and "passport" not in page
    to_worker = [form["Body"] for form in fake_twilio.sent if form["To"] == WORKER]
    assert not any(reference_b in body for body in to_worker)  # never told about case B
    assert not any("Reply on case B" in body for body in to_worker)
    assert any("We are coming to St Mary" in body for body in to_worker)
    with session_scope() as session:
        assert session.get_one(Reporter, case_a.reporter_id).name is None  # nothing overwritten
        assert case_b.reporter_id != case_a.reporter_id


def test_the_owner_who_enters_the_code_joins_the_report_to_their_number(
    client: FlaskClient, post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    reference, pin, done = submit_report(client, lang="en", phone=WORKER, consent="yes", contact_channel="sms")
    assert "We sent a code by SMS" in done.get_data(as_text=True)
    run_jobs()
    code = sent_code(fake_twilio)
    page = open_status(client, reference, pin)
    assert "Confirm your phone number" in page
    response = client.post(
        "/status?lang=en", data={"token": view_token(page), "action": "verify", "code": f" {code[:3]} {code[3:]} "}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert "Your number is confirmed" in response.get_data(as_text=True)
    case = case_of(reference)
    with session_scope() as session:
        reporter = session.get_one(Reporter, case.reporter_id)
        assert reporter.contact == WORKER and reporter.contact_channel == "sms"
        assert session.exec(select(ContactVerification)).one().contact is None  # nothing kept aside any more
        queue_outbound(session, reporter=reporter, case=case, body="Hello from your caseworker", kind="reply")
    run_jobs()
    assert any(f["To"] == WORKER and "Hello from your caseworker" in f["Body"] for f in fake_twilio.sent)
    # Now their SMS joins the case they proved.
    post_signed("/channels/twilio/sms", sms("more details", "SM" + "c3" * 16))
    run_jobs()
    assert case_of_message("SM" + "c3" * 16).id == case.id


def test_proving_a_number_that_already_texted_moves_the_case_to_that_reporter(
    client: FlaskClient, post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    post_signed("/channels/twilio/sms", sms("They took my passport", "SM" + "d4" * 16))
    run_jobs()
    sms_case = case_of_message("SM" + "d4" * 16)
    reference, pin, _ = submit_report(client, lang="en", phone=WORKER, consent="yes", name="Ana")
    run_jobs()
    page = open_status(client, reference, pin)
    client.post("/status?lang=en", data={"token": view_token(page), "action": "verify", "code": sent_code(fake_twilio)})
    web_case = case_of(reference)
    assert web_case.reporter_id == sms_case.reporter_id
    with session_scope() as session:
        assert session.get_one(Reporter, sms_case.reporter_id).name == "Ana"  # filled in, as they proved it is them
        messages = session.exec(select(Message).where(Message.case_id == web_case.id)).all()
        assert {m.reporter_id for m in messages} == {sms_case.reporter_id}


def test_wrong_codes_lock_the_code_and_resends_are_limited(
    client: FlaskClient, run_jobs: Any, fake_twilio: FakeTwilio, app: Any
) -> None:
    reference, pin, _ = submit_report(client, lang="en", phone=WORKER, consent="yes")
    run_jobs()
    code = sent_code(fake_twilio)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(MAX_FAILED_ATTEMPTS):
        page = open_status(client, reference, pin)
        response = client.post("/status?lang=en", data={"token": view_token(page), "action": "verify", "code": wrong})
        assert response.status_code == 400
    page = open_status(client, reference, pin)
    response = client.post("/status?lang=en", data={"token": view_token(page), "action": "verify", "code": code})
    assert response.status_code == 400  # the right code no longer works: a new one must be asked for
    with session_scope() as session:
        assert session.get_one(Reporter, case_of(reference).reporter_id).contact is None
        # Resends: at most MAX_CODE_SENDS codes per case in all, and not twice within a minute.
        row = session.exec(select(ContactVerification)).one()
        row.code_expires_at = row.code_expires_at.replace(year=2000) if row.code_expires_at else None
    statuses = []
    for _ in range(MAX_CODE_SENDS + 1):
        page = open_status(client, reference, pin)
        statuses.append(
            client.post("/status?lang=en", data={"token": view_token(page), "action": "resend"}).status_code
        )
        with session_scope() as session:
            row = session.exec(select(ContactVerification)).one()
            row.code_expires_at = row.code_expires_at.replace(year=2000) if row.code_expires_at else None
    assert statuses == [200] * (MAX_CODE_SENDS - 1) + [429, 429]
    run_jobs()
    assert len(codes_sent(fake_twilio)) == MAX_CODE_SENDS


def test_no_code_goes_to_a_number_that_opted_out(
    client: FlaskClient, post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    post_signed("/channels/twilio/sms", sms("STOP", "SM" + "e5" * 16))
    run_jobs()
    submit_report(client, lang="en", phone=WORKER, consent="yes")
    run_jobs()
    assert not codes_sent(fake_twilio)
    with session_scope() as session:
        code_message = session.exec(
            select(Message).where(Message.kind == "contact_code", Message.direction == Direction.OUTBOUND)
        ).one()
        assert code_message.delivery_status == DeliveryStatus.SUPPRESSED


def test_a_status_page_adds_one_message_only(client: FlaskClient) -> None:
    reference, pin, _ = submit_report(client, lang="en")
    token = view_token(open_status(client, reference, pin))
    first = client.post("/status?lang=en", data={"token": token, "body": "one"})
    assert first.status_code == 200
    again = client.post("/status?lang=en", data={"token": token, "body": "two, replayed"})
    assert again.status_code == 400  # the page's token was spent by the first message
    assert REPORT["body"]  # the report itself is untouched
