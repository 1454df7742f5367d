"""GET/POST /report: the web intake form, in the reporter's language, storing all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlmodel import Session, select

from casework.cases import hash_pin, pin_matches
from casework.models import (
    Case,
    CaseEvent,
    ContactVerification,
    DeliveryStatus,
    Direction,
    Message,
    ProcessingState,
    Reporter,
)
from casework.outbox import queue_outbound
from casework.privacy import lookup_hash
from casework.texts import SUPPORTED_LANGUAGES
from casework.verification import VerifyOutcome, verify_contact
from tests.app.public_support import REPORT, count, submit_report

PAGE_BUDGET_BYTES = 30 * 1024


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_form_page_with_its_stylesheet_loads_under_30_kb(client: FlaskClient, language: str) -> None:
    page = client.get(f"/report?lang={language}")
    with client.get("/static/public.css") as css:
        assert page.status_code == 200 and css.status_code == 200
        total = len(page.data) + len(css.data)
    assert total < PAGE_BUDGET_BYTES, f"{language}: {total} bytes"
    html = page.get_data(as_text=True)
    assert "<script" not in html and "style=" not in html  # nothing the CSP would block


@pytest.mark.parametrize(
    ("label", "url", "headers", "lang", "direction", "heading"),
    [
        ("query chooses Spanish", "/report?lang=es", {}, "es", "ltr", "Denunciar un problema en el trabajo"),
        ("query chooses Arabic, right to left", "/report?lang=ar", {}, "ar", "rtl", "الإبلاغ عن مشكلة في العمل"),
        ("Urdu is right to left", "/report?lang=ur", {}, "ur", "rtl", "کام پر مسئلے کی شکایت کریں"),
        ("Tagalog loads its own catalog", "/report?lang=tl", {}, "tl", "ltr", "Mag-ulat ng problema sa trabaho"),
        (
            "Accept-Language negotiated",
            "/report",
            {"Accept-Language": "ne-NP,ne;q=0.9,en;q=0.5"},
            "ne",
            "ltr",
            "कामको समस्याको उजुरी गर्नुहोस्",
        ),
        (
            "bogus code falls back to Accept-Language",
            "/report?lang=xx-<b>",
            {"Accept-Language": "fr"},
            "fr",
            "ltr",
            "Signaler un problème au travail",
        ),
        ("bogus code and no header: English", "/report?lang=klingon", {}, "en", "ltr", "Report a problem at work"),
    ],
)
def test_page_language_and_direction(
    client: FlaskClient, label: str, url: str, headers: dict[str, str], lang: str, direction: str, heading: str
) -> None:
    response = client.get(url, headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, label
    assert f'<html lang="{lang}" dir="{direction}">' in html, label
    assert heading in html, label
    assert "<b>" not in html


def test_form_is_accessible_without_javascript(client: FlaskClient) -> None:
    html = client.get("/report?lang=en").get_data(as_text=True)
    for field in ("body", "country", "sector", "employer", "name", "phone", "consent"):
        assert f'<label for="{field}">' in html and f'id="{field}"' in html, field
    assert 'name="viewport"' in html and 'action="/report?lang=en"' in html
    assert '<option value="PH">Philippines' in html
    assert 'autocomplete="off"' in html  # a shared phone must not remember a name or number


def test_country_names_are_in_the_page_language(client: FlaskClient) -> None:
    html = client.get("/report?lang=es").get_data(as_text=True)
    assert '<option value="AE">Emiratos Árabes Unidos' in html


def test_anonymous_report_opens_a_case_with_reference_and_pin(
    client: FlaskClient, session: Session, run_jobs: Any
) -> None:
    reference, pin, response = submit_report(client)
    html = response.get_data(as_text=True)
    assert "Recibimos su denuncia" in html and "2 días" in html
    assert response.headers["Cache-Control"] == "no-store"
    case = session.exec(select(Case)).one()
    assert case.reference == reference and pin_matches(case.pin_hash, pin)
    assert (case.channel, case.language, case.country, case.sector) == ("web", "es", "AE", "construction")
    assert case.employer_name == "Al Noor  Contracting"
    assert case.employer_pseudonym == lookup_hash("employer", "al noor contracting")
    reporter = session.get(Reporter, case.reporter_id)
    assert reporter is not None and reporter.contact is None and reporter.contact_hash is None
    message = session.exec(select(Message)).one()
    assert (message.case_id, message.direction, message.processing_state) == (case.id, "inbound", "received")
    assert message.body == REPORT["body"] and message.language == "es"
    session.rollback()  # end the read transaction: SQLite's writer lock would block the worker

    run_jobs()
    session.expire_all()
    assert session.get(Message, message.id).processing_state == ProcessingState.PROCESSED  # type: ignore[union-attr]
    assert count(session, Case) == 1  # the worker used the case the form opened
    # The page that showed the reference and PIN was the acknowledgement; nothing is texted.
    assert session.exec(select(Message).where(Message.direction == Direction.OUTBOUND)).all() == []
    actions = set(session.exec(select(CaseEvent.action)).all())
    assert {"case_opened", "message_received"} <= actions


def test_personal_data_is_encrypted_at_rest(client: FlaskClient, session: Session) -> None:
    submit_report(client, name="Maria Santos", phone="+63 917 123 4567", consent="yes")
    reporter = session.exec(select(Reporter)).one()
    pending = session.exec(select(ContactVerification)).one()
    # The number waits, aside and encrypted, for its owner to prove it; the reporter has none yet.
    assert (reporter.contact, reporter.name, pending.contact) == (None, "Maria Santos", "+639171234567")
    raw = session.execute(
        text(
            "SELECT r.name, c.employer_name, m.body, v.contact FROM reporter r "
            'JOIN "case" c ON c.reporter_id = r.id JOIN message m ON m.case_id = c.id '
            "JOIN contact_verification v ON v.case_id = c.id WHERE m.direction = 'inbound'"
        )
    ).one()
    dump = " ".join(str(value) for value in raw)
    for secret in ("639171234567", "Maria", "Noor", "pasaporte"):
        assert secret not in dump


def prove_number(session: Session, case: Case) -> None:
    """Enter the code for the case's number, as its owner would on /status (the code is set here)."""
    pending = session.exec(select(ContactVerification).where(ContactVerification.case_id == case.id)).one()
    pending.code_hash = hash_pin("482913")
    assert verify_contact(session, case, "482913") is VerifyOutcome.VERIFIED


@pytest.mark.parametrize(
    ("label", "changes", "proven", "channel", "delivery"),
    [
        (
            "WhatsApp chosen, number proven",
            {"phone": "+639171234567", "consent": "yes", "contact_channel": "whatsapp"},
            True,
            "whatsapp",
            DeliveryStatus.QUEUED,
        ),
        (
            "SMS by default, number proven",
            {"phone": "+639171234567", "consent": "yes"},
            True,
            "sms",
            DeliveryStatus.QUEUED,
        ),
        (
            "number not proven yet: read on /status only",
            {"phone": "+639171234567", "consent": "yes"},
            False,
            "web",
            DeliveryStatus.SUPPRESSED,
        ),
        ("anonymous: read on /status only", {}, False, "web", DeliveryStatus.SUPPRESSED),
    ],
)
def test_staff_replies_reach_a_reporter_who_proved_a_number(
    client: FlaskClient,
    session: Session,
    label: str,
    changes: dict[str, str],
    proven: bool,
    channel: str,
    delivery: DeliveryStatus,
) -> None:
    submit_report(client, **changes)
    case = session.exec(select(Case)).one()
    if proven:
        prove_number(session, case)
    reporter = session.get_one(Reporter, case.reporter_id)
    reply = queue_outbound(session, reporter=reporter, case=case, body="Hola", kind="reply")
    assert (reply.channel, reply.delivery_status) == (channel, delivery), label
    session.rollback()


def test_a_number_typed_into_two_reports_links_them_to_nothing(client: FlaskClient, session: Session) -> None:
    submit_report(client, phone="+639171234567", consent="yes")
    submit_report(client, phone="0917 123 4567", country="PH", consent="yes")
    assert count(session, Case) == 2  # each report is its own case, with its own PIN
    reporters = session.exec(select(Reporter)).all()
    assert len(reporters) == 2 and all(r.contact is None and r.contact_hash is None for r in reporters)
    session.rollback()


@pytest.mark.parametrize(
    ("label", "lang", "changes", "expected"),
    [
        ("missing body, Spanish", "es", {"body": ""}, "Cuéntenos qué pasó."),
        ("no country, Arabic", "ar", {"country": ""}, "يُرجى اختيار بلد من القائمة."),
        (
            "invalid phone, Tagalog",
            "tl",
            {"phone": "tawagan mo ako", "consent": "yes"},
            "Mukhang hindi ito numero ng telepono.",
        ),
        ("phone without consent, Swahili", "sw", {"phone": "+254712345678"}, "weka alama kwenye kisanduku hiki"),
        ("oversized body, French", "fr", {"body": "x" * 5001}, "Écrivez moins de 5"),
        ("bogus sector, Russian", "ru", {"sector": "spy"}, "Выберите вид работы из списка."),
    ],
)
def test_bad_input_re_renders_the_form_in_the_reporters_language_and_stores_nothing(
    client: FlaskClient, session: Session, label: str, lang: str, changes: dict[str, str], expected: str
) -> None:
    response = client.post(f"/report?lang={lang}", data={**REPORT, **changes})
    html = response.get_data(as_text=True)
    assert response.status_code == 400, label
    assert expected in html, label
    assert 'aria-invalid="true"' in html and 'role="alert"' in html
    assert REPORT["employer"] in html  # what the reporter typed is kept
    assert response.headers["Cache-Control"] == "no-store"
    for model in (Reporter, Case, Message, CaseEvent):
        assert count(session, model) == 0, (label, model)


def test_html_in_every_field_renders_inert(client: FlaskClient) -> None:
    attack = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    response = client.post(
        "/report?lang=en",
        data={"body": attack, "country": "", "employer": attack, "name": attack, "phone": attack, "consent": "yes"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_oversized_request_is_refused_in_the_reporters_language(make_app: Any, session: Session) -> None:
    application: Flask = make_app(MAX_CONTENT_LENGTH=4096)
    response = application.test_client().post("/report?lang=es", data={**REPORT, "body": "x" * 8000})
    assert response.status_code == 413
    assert "Demasiado largo" in response.get_data(as_text=True)
    assert count(session, Message) == 0


def test_database_failure_leaves_nothing_half_stored(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import casework.web_intake as web_intake

    def broken_open_case(*_args: Any, **_kwargs: Any) -> Case:
        raise RuntimeError("database went away")

    monkeypatch.setattr(web_intake, "open_case", broken_open_case)
    response = client.post("/report?lang=es", data=REPORT)
    assert response.status_code == 500
    assert "Algo salió mal por nuestra parte" in response.get_data(as_text=True)
    for model in (Reporter, Case, Message):
        assert count(session, model) == 0
