"""Outbound through the fake Twilio REST server: acknowledgements, retries, refusals, the
WhatsApp 24-hour window and template, segment counting, and inbound media fetching."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rq.job import Job
from sqlmodel import Session, select

from app.db import new_session
from app.jobs import fetch_inbound_media, send_outbound
from app.media import media_file
from app.queues import get_queues
from casework.models import Case, DeliveryStatus, Direction, MediaAttachment, Message, Reporter, utcnow
from casework.outbox import TEMPLATE_KIND, queue_outbound, split_body
from casework.privacy import decrypt_bytes
from casework.texts import render_text
from channels.twilio.segments import count_segments, prefer_gsm7
from channels.twilio.sender import TwilioRequestFailed
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, load_payload
from tests.fakes import FakeTwilio

TEMPLATE_SID = "HX" + "5" * 32


@contextmanager
def db() -> Iterator[Session]:
    """A short-lived session, so no test holds SQLite's write lock while jobs run."""
    with new_session() as session:
        yield session
        session.commit()


def outbound() -> list[Message]:
    with db() as session:
        return list(
            session.exec(select(Message).where(Message.direction == Direction.OUTBOUND).order_by(Message.id)).all()
        )


def test_signed_sms_gets_an_acknowledgement_with_the_case_reference(
    post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    form = load_payload("sms_basic")
    assert post_signed("/channels/twilio/sms", form).status_code == 200
    run_jobs()
    with db() as session:
        case = session.exec(select(Case)).one()
    [sent] = fake_twilio.sent
    assert sent["To"] == "+639171234567"
    assert sent["From"] == "+15005550006"
    assert case.reference in sent["Body"]
    [request] = [r for r in fake_twilio.requests if r.method == "POST"]
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.basic_auth == (ACCOUNT_SID, AUTH_TOKEN)
    [ack] = outbound()
    assert sent["StatusCallback"] == f"https://tulay.test/channels/twilio/status?m={ack.id}"
    assert ack.delivery_status == DeliveryStatus.ACCEPTED
    assert ack.provider_id and ack.provider_id.startswith("SM")
    assert ack.segments == count_segments(sent["Body"]).segments
    assert "639171234567" not in caplog.text
    assert form["Body"] not in caplog.text


def test_replayed_webhook_sends_no_second_acknowledgement(
    post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    form = load_payload("sms_basic")
    post_signed("/channels/twilio/sms", form)
    run_jobs()
    post_signed("/channels/twilio/sms", form)
    run_jobs()
    assert len(fake_twilio.sent) == 1


def test_transient_error_is_retried_by_rq_and_not_marked_failed(
    post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.failures.append((503, 20503))
    post_signed("/channels/twilio/sms", load_payload("sms_basic"))
    run_jobs()
    [ack] = outbound()
    assert (ack.delivery_status, ack.provider_id) == (DeliveryStatus.SENDING, None)  # claimed, outcome unknown
    job = Job.fetch(f"outbound-{ack.id}", connection=get_queues().connection)
    assert job.get_status() == "scheduled"  # RQ's Retry, with backoff
    assert job.retries_left == 4
    assert send_outbound(ack.id) == "sent"  # what the retry will do
    assert len(fake_twilio.sent) == 2
    assert outbound()[0].delivery_status == DeliveryStatus.ACCEPTED


def test_a_send_whose_result_was_lost_is_not_sent_again(
    post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    post_signed("/channels/twilio/sms", load_payload("sms_basic"))
    run_jobs()
    [ack] = outbound()
    # The worker died (or the database restarted) after Twilio accepted the message and before
    # its sid was recorded: the claim is all that is left.
    with db() as session:
        message = session.get_one(Message, ack.id)
        message.delivery_status, message.provider_id = DeliveryStatus.SENDING, None
        session.add(message)
    assert send_outbound(ack.id) == "sent"
    assert len(fake_twilio.sent) == 1  # found at Twilio, not sent again
    assert [r.method for r in fake_twilio.requests] == ["POST", "GET"]
    assert (outbound()[0].provider_id, outbound()[0].delivery_status) == (ack.provider_id, DeliveryStatus.ACCEPTED)
    # A second message with the same text to the same person is still sent: the first one's
    # sid is already recorded, so it can't be mistaken for the second.
    with db() as session:
        twin = Message(
            reporter_id=ack.reporter_id,
            case_id=ack.case_id,
            direction=Direction.OUTBOUND,
            channel=ack.channel,
            body=ack.body,
            delivery_status=DeliveryStatus.SENDING,
            sent_at=ack.sent_at,
        )
        session.add(twin)
        session.flush()
        twin_id = twin.id
    assert twin_id is not None and send_outbound(twin_id) == "sent"
    assert len(fake_twilio.sent) == 2


@pytest.mark.parametrize(
    ("label", "status", "code", "opted_out"),
    [
        ("invalid number", 400, 21211, False),
        ("not a mobile number", 400, 21614, False),
        ("recipient opted out at Twilio", 400, 21610, True),
    ],
    ids=["invalid number", "not a mobile number", "recipient opted out at Twilio"],
)
def test_permanent_refusal_is_recorded_without_retry(
    post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio, label: str, status: int, code: int, opted_out: bool
) -> None:
    fake_twilio.failures.append((status, code))
    post_signed("/channels/twilio/sms", load_payload("sms_basic"))
    run_jobs()
    [ack] = outbound()
    assert (ack.delivery_status, ack.delivery_error_code) == (DeliveryStatus.FAILED, str(code))
    assert Job.fetch(f"outbound-{ack.id}", connection=get_queues().connection).get_status() == "finished"
    assert len(fake_twilio.sent) == 1
    with db() as session:
        assert session.exec(select(Reporter)).one().opted_out is opted_out


def test_message_queued_before_stop_is_never_sent(post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio) -> None:
    post_signed("/channels/twilio/sms", load_payload("sms_basic"))
    run_jobs(("intake",))  # the acknowledgement is queued, not yet sent
    stop = {**load_payload("sms_basic"), "MessageSid": "SM" + "9" * 32, "Body": "STOP"}
    post_signed("/channels/twilio/sms", stop)
    run_jobs(("intake",))
    run_jobs()
    assert fake_twilio.sent == []
    assert [m.delivery_status for m in outbound()] == [DeliveryStatus.SUPPRESSED]


def test_whatsapp_stop_confirmation_is_the_last_message_sent(
    post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    form = {**load_payload("whatsapp_text"), "Body": "Berhenti"}
    post_signed("/channels/twilio/whatsapp", form)
    run_jobs()
    [sent] = fake_twilio.sent
    assert sent["To"] == "whatsapp:+6281234567890"
    assert sent["From"] == "whatsapp:+14155238886"
    assert sent["Body"] == render_text("stopped", "id")  # "Berhenti" is Indonesian only


def age_last_inbound(hours: float) -> None:
    with db() as session:
        reporter = session.exec(select(Reporter)).one()
        reporter.last_inbound_at = utcnow() - timedelta(hours=hours)
        session.add(reporter)


def staff_reply(body: str) -> None:
    with db() as session:
        case = session.exec(select(Case)).one()
        reporter = session.get(Reporter, case.reporter_id)
        queue_outbound(session, reporter=reporter, case=case, body=body, kind="reply")


@pytest.mark.parametrize("with_template", [True, False], ids=["template configured", "no template"])
def test_whatsapp_outside_24h_holds_free_form_and_sends_one_template(
    make_app: Any, fake_twilio: FakeTwilio, run_jobs: Any, post_signed: Any, with_template: bool
) -> None:
    from flask import current_app

    current_app.config["TWILIO_WHATSAPP_TEMPLATE_SID"] = TEMPLATE_SID if with_template else ""
    post_signed("/channels/twilio/whatsapp", load_payload("whatsapp_text"))
    run_jobs()
    assert len(fake_twilio.sent) == 1 and "Body" in fake_twilio.sent[0]  # inside the window: free-form
    with db() as session:
        reference = session.exec(select(Case)).one().reference
    age_last_inbound(25)
    staff_reply("Nakipag-ugnayan na kami sa employer mo.")
    run_jobs()
    staff_reply("Second update.")
    run_jobs()
    held = [m for m in outbound() if m.delivery_status == DeliveryStatus.HELD]
    assert [m.body for m in held] == ["Nakipag-ugnayan na kami sa employer mo.", "Second update."]
    if with_template:
        [template] = fake_twilio.sent[1:]  # one nudge per silence, not one per message
        assert template["ContentSid"] == TEMPLATE_SID
        assert json.loads(template["ContentVariables"]) == {"1": reference}
        assert "Body" not in template
        assert [m.kind for m in outbound()].count(TEMPLATE_KIND) == 1
    else:
        assert len(fake_twilio.sent) == 1
    # The reporter writes back: the window is open again and the held messages go out, in order.
    post_signed(
        "/channels/twilio/whatsapp", {**load_payload("whatsapp_text"), "MessageSid": "SM" + "8" * 32, "Body": "ok"}
    )
    run_jobs()
    run_jobs()
    bodies = [f.get("Body") for f in fake_twilio.sent]
    assert len(bodies) == (5 if with_template else 4)  # + the follow-up acknowledgement
    assert {"Nakipag-ugnayan na kami sa employer mo.", "Second update."} <= set(bodies[-3:])
    assert not [m for m in outbound() if m.delivery_status == DeliveryStatus.HELD]


def test_twilio_window_refusal_holds_the_message(post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio) -> None:
    fake_twilio.failures.append((400, 63016))  # Twilio's clock says the window closed
    post_signed("/channels/twilio/whatsapp", load_payload("whatsapp_text"))
    run_jobs()
    [ack] = outbound()
    assert ack.delivery_status == DeliveryStatus.HELD


SEGMENTS = [
    # label, text, encoding, segments
    ("empty", "", "GSM-7", 1),
    ("160 GSM-7 characters fit one segment", "a" * 160, "GSM-7", 1),
    ("161 need two", "a" * 161, "GSM-7", 2),
    ("306 fit two (153 each)", "a" * 306, "GSM-7", 2),
    ("307 need three", "a" * 307, "GSM-7", 3),
    ("euro sign costs two septets", "€" * 80, "GSM-7", 1),
    ("81 euro signs need two", "€" * 81, "GSM-7", 2),
    ("escape pair is not split across segments", "a" * 152 + "€" + "a" * 10, "GSM-7", 2),
    ("70 Devanagari characters fit one UCS-2 segment", "क" * 70, "UCS-2", 1),
    ("71 need two", "क" * 71, "UCS-2", 2),
    ("one accent outside GSM-7 makes it all UCS-2", "a" * 100 + "ő", "UCS-2", 2),
    ("35 emoji are 70 UTF-16 units", "😀" * 35, "UCS-2", 1),
    ("36 emoji need two (no split surrogates)", "😀" * 36, "UCS-2", 2),
    ("1600 Tagalog characters", load_payload("sms_1600_chars")["Body"], "GSM-7", 11),
]


@pytest.mark.parametrize(("label", "text", "encoding", "segments"), SEGMENTS, ids=[s[0] for s in SEGMENTS])
def test_segment_count(label: str, text: str, encoding: str, segments: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.segments) == (encoding, segments)


def test_typographic_quotes_are_made_plain_only_when_that_makes_gsm7() -> None:
    assert prefer_gsm7("We\u2019ll call \u201csoon\u201d \u2014 ok") == 'We\'ll call "soon" - ok'
    assert prefer_gsm7("We\u2019ll call 😀") == "We\u2019ll call 😀"  # UCS-2 anyway: keep the text as written


def test_body_over_twilios_limit_goes_as_numbered_parts() -> None:
    body = " ".join(["sahod"] * 700)  # 4199 characters
    parts = split_body(body)
    assert len(parts) == 3
    assert all(len(p) <= 1600 for p in parts)
    assert [p.split(" ", 1)[0] for p in parts] == ["(1/3)", "(2/3)", "(3/3)"]
    assert " ".join(p.split(" ", 1)[1] for p in parts) == body


def test_long_staff_reply_is_sent_in_parts(post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio) -> None:
    post_signed("/channels/twilio/sms", load_payload("sms_basic"))
    run_jobs()
    staff_reply("x " * 1000)
    run_jobs()
    assert [f["Body"][:5] for f in fake_twilio.sent[1:]] == ["(1/2)", "(2/2)"]


def test_whatsapp_media_is_fetched_with_credentials_and_stored_encrypted(
    app: Any, post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    form = load_payload("whatsapp_two_media")
    contents = [b"\xff\xd8\xff\xe0 a photo of a payslip", b"%PDF-1.7 a contract"]
    for index, content in enumerate(contents):
        path = "/" + form[f"MediaUrl{index}"].split("/", 3)[3]
        fake_twilio.media[path] = (content, form[f"MediaContentType{index}"])
    post_signed("/channels/twilio/whatsapp", form)
    run_jobs()
    run_jobs()
    media_requests = [r for r in fake_twilio.requests if r.method == "GET"]
    assert len(media_requests) == 2
    assert all(r.basic_auth == (ACCOUNT_SID, AUTH_TOKEN) for r in media_requests)
    with db() as session:
        attachments = session.exec(select(MediaAttachment).order_by(MediaAttachment.id)).all()
    for attachment, content in zip(attachments, contents, strict=True):
        assert attachment.fetched_at is not None and attachment.size_bytes == len(content)
        stored = media_file(attachment.stored_path).read_bytes()
        assert media_file(attachment.stored_path).is_relative_to(Path(app.instance_path) / "media")
        assert content not in stored  # encrypted at rest
        assert decrypt_bytes(stored) == content
    assert fetch_inbound_media(attachments[0].id) == "skipped"  # idempotent


def test_media_fetch_lost_by_redis_is_swept_and_fetched(
    app: Any, post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    from app.jobs import sweep_unfetched_media

    form = load_payload("whatsapp_media_empty_body")
    fake_twilio.media["/" + form["MediaUrl0"].split("/", 3)[3]] = (b"photo", "image/jpeg")
    post_signed("/channels/twilio/whatsapp", form)
    run_jobs(("intake",))
    get_queues().connection.flushdb()  # Redis lost the fetch job
    app.config["SWEEP_AFTER_SECONDS"] = 0
    assert sweep_unfetched_media() == 1
    assert sweep_unfetched_media() == 0  # queued already: not doubled
    run_jobs(("outbound",))
    with db() as session:
        assert session.exec(select(MediaAttachment)).one().size_bytes == len(b"photo")
    assert sweep_unfetched_media() == 0


def test_media_url_off_twilio_is_refused_without_a_request(
    app: Any, post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    form = {**load_payload("whatsapp_media_empty_body"), "MediaUrl0": "https://attacker.example/steal"}
    post_signed("/channels/twilio/whatsapp", form)
    run_jobs()
    assert [r for r in fake_twilio.requests if r.method == "GET"] == []
    with db() as session:
        attachment = session.exec(select(MediaAttachment)).one()
    assert attachment.fetched_at is None and attachment.url == "https://attacker.example/steal"


# --- F4: the retry path's look-up of sent messages must not put the reporter's number in any log ---

PLANTED_WHATSAPP = "+9779812345678"
PLANTED_PROFILE_NAME = "Sunita Gurung"


def number_forms(e164: str) -> set[str]:
    """A number as E.164, digits only, without its country code, and URL-encoded (with or without whatsapp:)."""
    from urllib.parse import quote, quote_plus

    digits = e164.lstrip("+")
    return {e164, digits, digits[3:], quote(e164, safe=""), quote_plus(f"whatsapp:{e164}")}


def record_text(record: logging.LogRecord) -> str:
    """Everything a handler can see of `record`: message, args, exception and stack text, `extra=` fields."""
    standard = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
    parts = [record.getMessage(), repr(record.args), record.exc_text or "", record.stack_info or ""]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    parts += [f"{key}={value!r}" for key, value in record.__dict__.items() if key not in standard]
    return "\n".join(parts)


def unused_loopback_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there now: connection refused


def test_send_retry_look_up_logs_no_phone_number_at_debug(
    app: Any, post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    from app.dispatch import SEND_OUTBOUND, ensure_enqueued

    caplog.set_level(logging.DEBUG)
    form = {
        **load_payload("whatsapp_text"),
        "From": f"whatsapp:{PLANTED_WHATSAPP}",
        "WaId": PLANTED_WHATSAPP[1:],
        "ProfileName": PLANTED_PROFILE_NAME,
    }
    assert post_signed("/channels/twilio/whatsapp", form).status_code == 200
    run_jobs()
    [ack] = outbound()
    assert fake_twilio.sent[0]["To"] == f"whatsapp:{PLANTED_WHATSAPP}"
    # The worker died after Twilio took the message: SENDING without a provider id, so the
    # retry asks Twilio for the messages sent to this number (GET …/Messages.json?To=…).
    with db() as session:
        message = session.get_one(Message, ack.id)
        message.delivery_status, message.provider_id = DeliveryStatus.SENDING, None
        session.add(message)
    # First retry: Twilio is unreachable, so the look-up fails with a traceback holding its URL.
    app.config["TWILIO_API_BASE_URL"] = unused_loopback_url()
    ensure_enqueued(SEND_OUTBOUND, ack.id)
    run_jobs(("outbound",))
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR and "send_outbound" in r.getMessage()]
    assert failures and "Traceback" in record_text(failures[0])
    assert Job.fetch(f"outbound-{ack.id}", connection=get_queues().connection).get_status() == "scheduled"
    # The error itself (what RQ keeps in Redis once retries run out) names the failure, not the URL.
    with pytest.raises(TwilioRequestFailed) as raised:
        send_outbound(ack.id)
    job_record = "".join(traceback.format_exception(raised.value))
    assert "Twilio API unreachable (ConnectionError)" in job_record
    # Second retry: Twilio answers; the look-up finds the earlier send.
    app.config["TWILIO_API_BASE_URL"] = fake_twilio.base_url
    assert send_outbound(ack.id) == "sent"
    lookups = [r for r in fake_twilio.requests if r.method == "GET"]
    assert lookups and lookups[0].form["To"] == f"whatsapp:{PLANTED_WHATSAPP}"
    assert len(fake_twilio.sent) == 1
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # logging ran at DEBUG
    planted = number_forms(PLANTED_WHATSAPP) | {PLANTED_PROFILE_NAME}
    leaks = [
        (r.name, r.getMessage()[:300], [v for v in planted if v.lower() in record_text(r).lower()])
        for r in caplog.records
    ]
    assert not [leak for leak in leaks if leak[2]]
    assert not [v for v in planted if v in job_record]
