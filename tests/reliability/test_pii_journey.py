"""A full journey with planted personal data, logged at DEBUG: reports by SMS, WhatsApp (with a
photo) and the web form go through a real RQ worker process, staff triage, note, reply and close
them in the console, and the anonymized records are published. None of the planted values, nor
the digits of the phone numbers, may appear in any log line, the worker's output, the compliance
records, the open-data API, the CLI export or the transparency page."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.db import get_session_factory
from casework.models import Case, CaseStatus, ComplianceRecord, Direction, MediaAttachment, Message, Role, utcnow
from tests.app.console_support import fetch, login_form, only, staff_with_password, version_of
from tests.app.public_support import submit_report, view_token
from tests.channels.conftest import ACCOUNT_SID, signed_post, twilio_config
from tests.fakes import FakeTwilio, fake_twilio_server
from tests.processes import cli_env, run_flask, run_worker

# --- the planted personal data -----------------------------------------------------------------
SMS_PHONE = "+639175550123"  # Maricel, writing by SMS
WHATSAPP_PHONE = "+971501234567"  # Rosario, writing on WhatsApp
WEB_PHONE = "+9779801234567"  # Lakshmi, on the web form
EMPLOYER_PHONE = "+97145550199"  # the employer's contact person
PHONE_SPELLINGS = {  # as people type them, in the message texts
    SMS_PHONE: "0917 555 0123",
    WHATSAPP_PHONE: "050 123 4567",
    WEB_PHONE: "980-1234567",
    EMPLOYER_PHONE: "+971 4 555 0199",
}
NAMES = ["Maricel Dimaculangan", "Rosario Villanueva", "Lakshmi Thapa Magar", "Khalid Rahman"]
PASSPORTS = ["P1234567A", "EC0123456"]
EMAILS = ["maricel.dimaculangan@example.com", "khalid.rahman@alnoor-example.ae", "lakshmi.thapa@example.org"]

SMS_BODY = (
    f"I am {NAMES[0]}, passport {PASSPORTS[0]}. My employer has not paid my salary for 4 months and "
    f"kept my passport. The manager is {NAMES[3]}, {PHONE_SPELLINGS[EMPLOYER_PHONE]}, {EMAILS[1]}. "
    f"Call me on {PHONE_SPELLINGS[SMS_PHONE]} or write to {EMAILS[0]}."
)
WHATSAPP_BODY = (
    f"Help me please, they locked me in the house. I am {NAMES[1]}, passport {PASSPORTS[1]}. "
    f"My sponsor {NAMES[3]} took my passport. My other number is {PHONE_SPELLINGS[WHATSAPP_PHONE]}."
)
WEB_REPORT = {
    "body": f"My name is {NAMES[2]}. The agency took my passport {PASSPORTS[1]} and I have not been paid. "
    f"Their contact: {NAMES[3]} {PHONE_SPELLINGS[EMPLOYER_PHONE]}.",
    "name": NAMES[2],
    "phone": PHONE_SPELLINGS[WEB_PHONE],
    "consent": "yes",
    "country": "NP",
    "sector": "construction",
    "employer": f"Al Noor Contracting, contact {NAMES[3]} {EMPLOYER_PHONE}",
}
WEB_FOLLOWUP = f"My new number is {WEB_PHONE}, or e-mail {EMAILS[2]}."
PASSPORT_PHOTO = f"JPEG passport scan {PASSPORTS[1]} {NAMES[1]}".encode()
MEDIA_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{'1' * 32}/Media/ME{'2' * 32}"


def phone_variants(e164: str) -> set[str]:
    """A number as E.164, as bare digits, without its country code, and as the spelling we planted."""
    digits = e164.lstrip("+")
    national = digits[3:]  # every planted number has a 3-digit country code
    return {e164, digits, national, "0" + national, PHONE_SPELLINGS[e164]}


PLANTED = sorted(
    {
        *NAMES,
        *PASSPORTS,
        *EMAILS,
        *(v for p in PHONE_SPELLINGS for v in phone_variants(p)),
        *(name.split()[-1] for name in NAMES),
    }
)


def leaks(text: str) -> list[str]:
    """The planted values found in `text`, in any letter case."""
    lowered = text.lower()
    return [value for value in PLANTED if value.lower() in lowered]


# --- log capture -------------------------------------------------------------------------------


@pytest.fixture
def debug_logging() -> Iterator[None]:
    """Put the logging levels back afterwards: an app built with LOG_LEVEL=DEBUG lowers them process-wide."""
    root = logging.getLogger()
    handlers = {handler: handler.level for handler in root.handlers}
    level = root.level
    yield
    root.setLevel(level)
    for handler, handler_level in handlers.items():
        handler.setLevel(handler_level)


@contextmanager
def app_log_output() -> Iterator[io.StringIO]:
    """What the app's JSON log handler (app/logs.py) writes during the block."""
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_tulay", False))
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def raw_records(records: list[logging.LogRecord]) -> str:
    """Every record as any handler sees it, before a handler's own filters: message, extras, traceback."""
    standard = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
    return "\n".join(
        json.dumps(
            {"msg": r.getMessage(), "exc": r.exc_text, **{k: v for k, v in r.__dict__.items() if k not in standard}},
            default=str,
            ensure_ascii=False,
        )
        for r in records
    )


# --- the journey's steps -----------------------------------------------------------------------


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with fake_twilio_server() as fake:
        fake.media[MEDIA_PATH] = (PASSPORT_PHOTO, "image/jpeg")
        yield fake


def case_of(db: Session, provider_id: str) -> Case:
    return only(
        db, select(Case).join(Message, col(Message.case_id) == Case.id).where(Message.provider_id == provider_id)
    )


def console_post(web: FlaskClient, reference: str, endpoint: str, **form: Any) -> None:
    """Submit one console form on the case with the version its page shows; it must be accepted."""
    page = web.get(f"/console/cases/{reference}")
    assert page.status_code == 200
    response = web.post(
        f"/console/cases/{reference}/{endpoint}", data={**form, "version": version_of(page.get_data(as_text=True))}
    )
    assert response.status_code == 303, (endpoint, response.get_data(as_text=True)[:3000])


def test_planted_personal_data_never_reaches_logs_or_published_data(
    debug_logging: None,
    make_app: Any,
    config: dict[str, Any],
    fake_twilio: FakeTwilio,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # k = 2 (the least allowed), so the journey's three cases are enough for a non-empty release.
    changes = {**twilio_config(fake_twilio.base_url), "LOG_LEVEL": "DEBUG", "COMPLIANCE_K": 2}
    env = cli_env(config, **changes)
    worker_log = tmp_path / "worker.log"
    app = make_app(**changes)
    web, public, twilio = app.test_client(), app.test_client(), app.test_client()
    db = get_session_factory(app)()
    with app_log_output() as app_log, caplog.at_level(logging.DEBUG), db:
        admin = staff_with_password(db, Role.ADMIN, "admin@tulay.test", languages=["en"])
        for team in ("rapid-response", "investigations", "mediation"):
            staff_with_password(
                db,
                Role.MEDIATOR if team == "mediation" else Role.OMBUDSPERSON,
                f"{team}@tulay.test",
                team=team,
                languages=["en", "tl", "ne"],
                is_supervisor=True,
            )

        # Intake: a signed SMS and a signed WhatsApp message with a photo; a web report and a follow-up.
        sms = {
            "MessageSid": "SM" + "5" * 32,
            "AccountSid": ACCOUNT_SID,
            "From": SMS_PHONE,
            "To": "+15005550006",
            "Body": SMS_BODY,
            "NumMedia": "0",
            "FromCountry": "PH",
        }
        whatsapp = {
            "MessageSid": "SM" + "6" * 32,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{WHATSAPP_PHONE}",
            "To": "whatsapp:+14155238886",
            "Body": WHATSAPP_BODY,
            "WaId": WHATSAPP_PHONE[1:],
            "ProfileName": NAMES[1],
            "NumMedia": "1",
            "MediaContentType0": "image/jpeg",
            "MediaUrl0": f"https://api.twilio.com{MEDIA_PATH}",
        }
        assert signed_post(twilio, "/channels/twilio/sms", sms).status_code == 200
        assert signed_post(twilio, "/channels/twilio/whatsapp", whatsapp).status_code == 200
        web_reference, pin, _ = submit_report(public, lang="en", **WEB_REPORT)
        status_page = public.post("/status?lang=en", data={"reference": web_reference, "pin": pin})
        assert (
            public.post(
                "/status?lang=en", data={"token": view_token(status_page.get_data(as_text=True)), "body": WEB_FOLLOWUP}
            ).status_code
            == 200
        )

        # The worker detects, translates or flags, triages, routes, alerts, acknowledges, fetches the photo.
        worker_output = run_worker(env, log=worker_log)
        sms_case, wa_case = case_of(db, sms["MessageSid"]), case_of(db, whatsapp["MessageSid"])
        web_case = only(db, select(Case).where(Case.reference == web_reference))
        cases = [sms_case, wa_case, web_case]
        assert all(case.category and case.route for case in cases), [(c.category, c.route) for c in cases]
        assert wa_case.urgency == "critical"
        acks = fetch(db, select(Message).where(Message.direction == Direction.OUTBOUND, Message.kind == "ack"))
        assert {m.case_id for m in acks} >= {sms_case.id, wa_case.id}
        assert all(m.provider_id for m in acks)
        assert any(r.path == MEDIA_PATH for r in fake_twilio.requests)

        # Twilio reports each acknowledgement delivered (its callback carries the reporter's number).
        for ack in acks:
            to = (
                SMS_PHONE
                if ack.case_id == sms_case.id
                else WEB_PHONE
                if ack.case_id == web_case.id
                else f"whatsapp:{WHATSAPP_PHONE}"
            )
            callback = {
                "MessageSid": str(ack.provider_id),
                "MessageStatus": "delivered",
                "AccountSid": ACCOUNT_SID,
                "To": to,
                "From": "+15005550006",
            }
            assert signed_post(twilio, "/channels/twilio/status", callback, query=f"m={ack.id}").status_code == 204

        # Staff sign in, correct a triage, note and reply with personal data, record outcomes, close.
        assert login_form(web, "admin@tulay.test").status_code == 302
        assert web.get("/console/").status_code == 200
        # The photo, opened in the console: decrypted on the fly; its contents reach no log either.
        photo = only(db, select(MediaAttachment.id))
        opened = web.get(f"/console/cases/{wa_case.reference}/attachments/{photo}")
        assert opened.status_code == 200 and opened.data == PASSPORT_PHOTO
        for case in (sms_case, web_case):  # both kept a passport: two records to publish together
            console_post(web, case.reference, "triage", category="document_confiscation")
        for case, name, phone in (
            (sms_case, NAMES[0], SMS_PHONE),
            (wa_case, NAMES[1], WHATSAPP_PHONE),
            (web_case, NAMES[2], WEB_PHONE),
        ):
            console_post(web, case.reference, "notes", body=f"Called {name} on {phone}; passport {PASSPORTS[0]}.")
            reply = f"Dear {name}, we called {NAMES[3]} ({EMPLOYER_PHONE}) about passport {PASSPORTS[1]}."
            console_post(web, case.reference, "reply", action="send", text=reply, sent_text=reply)
            if only(db, select(Case.status).where(Case.id == case.id)) != CaseStatus.ASSIGNED:
                console_post(web, case.reference, "assign", assignee_id=str(admin.id))
            console_post(
                web,
                case.reference,
                "outcome",
                resolution_type="remedied",
                remedies=["documents_returned", "wages_paid"],
                amount_recovered="1200",
                currency="AED",
            )
            console_post(web, case.reference, "status", to="resolved")
            console_post(web, case.reference, "status", to="closed")
        worker_output += run_worker(env, log=worker_log)  # sends the replies, anonymizes the closed cases
        replies = [form for form in fake_twilio.sent if NAMES[0] in form.get("Body", "")]
        assert [form["To"] for form in replies] == [SMS_PHONE]  # the planted data really went through

        # The anonymized records; then a month passes, lifting the embargo on this month's closures.
        records = fetch(db, select(ComplianceRecord))
        assert len(records) == 3
        record_dump = json.dumps([r.model_dump() for r in records], default=str, ensure_ascii=False)
        # Two months back: a month is published a day after it ends, so "last month" is not yet
        # published on the 1st.
        month_before_last = (utcnow().replace(day=1) - timedelta(days=32)).strftime("%Y-%m")
        db.execute(update(ComplianceRecord).values(opened_month=month_before_last, closed_month=month_before_last))
        db.commit()
        # Nothing published yet: the request asks a worker, which computes and publishes the release.
        assert public.get("/api/v1/compliance/summary").status_code == 503
        worker_output += run_worker(env, "reports", log=worker_log)

        published = {
            "records JSON": public.get("/api/v1/compliance/records"),
            "records CSV": public.get("/api/v1/compliance/records", headers={"Accept": "text/csv"}),
            "summary": public.get("/api/v1/compliance/summary"),
            "transparency": public.get("/transparency?lang=en"),
        }
        assert all(r.status_code == 200 for r in published.values()), {k: r.status_code for k, r in published.items()}
        outputs = {name: response.get_data(as_text=True) for name, response in published.items()}
        assert len(published["records JSON"].json["records"]) >= 2  # the release is not empty
        cli_output = ""
        for fmt in ("csv", "json"):
            out = tmp_path / f"open-data.{fmt}"
            cli_output += run_flask(
                env, "compliance", "export", "--format", fmt, "--out", str(out), log=tmp_path / "cli.log"
            )
            outputs[f"CLI export {fmt}"] = out.read_text(encoding="utf-8")
        assert re.search(r"wrote [1-9]\d* records", cli_output), cli_output

    # Logging really ran at DEBUG in both processes, so a leak would have shown.
    assert '"level": "debug"' in app_log.getvalue() and '"level": "debug"' in worker_output
    outputs |= {
        "app log (JSON handler)": app_log.getvalue(),
        "log records before handlers": raw_records(caplog.records),
        "worker output": worker_output,
        "CLI output": cli_output,
        "compliance records": record_dump,
    }
    found = {source: leaks(text) for source, text in outputs.items() if leaks(text)}
    assert not found, found
