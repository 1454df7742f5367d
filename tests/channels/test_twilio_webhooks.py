"""Twilio webhooks, table-driven over captured payload shapes: verified, parsed, stored once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlmodel import Session, select

from casework.models import (
    CaseEvent,
    ChannelKind,
    DeliveryStatus,
    Direction,
    MediaAttachment,
    Message,
    ProcessingState,
    Reporter,
)
from tests.channels.conftest import load_payload, sign

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


INBOUND_CASES = [
    # label, payload file, route, channel, sender E.164, media content types
    ("sms in Tagalog", "sms_basic", "sms", ChannelKind.SMS, "+639171234567", []),
    ("sms in Nepali (Devanagari)", "sms_unicode_nepali", "sms", ChannelKind.SMS, "+9779812345678", []),
    ("sms with emoji", "sms_emoji", "sms", ChannelKind.SMS, "+8801712345678", []),
    ("sms of 1600 characters", "sms_1600_chars", "sms", ChannelKind.SMS, "+639171234568", []),
    ("whatsapp text", "whatsapp_text", "whatsapp", ChannelKind.WHATSAPP, "+6281234567890", []),
    (
        "whatsapp with two media",
        "whatsapp_two_media",
        "whatsapp",
        ChannelKind.WHATSAPP,
        "+251911234567",
        ["image/jpeg", "application/pdf"],
    ),
    (
        "whatsapp media with empty body",
        "whatsapp_media_empty_body",
        "whatsapp",
        ChannelKind.WHATSAPP,
        "+959123456789",
        ["image/jpeg"],
    ),
]


@pytest.mark.parametrize(
    ("label", "name", "route", "channel", "sender", "media"), INBOUND_CASES, ids=[c[0] for c in INBOUND_CASES]
)
def test_signed_inbound_is_stored_exactly_as_sent(
    post_signed: Any,
    session: Session,
    label: str,
    name: str,
    route: str,
    channel: ChannelKind,
    sender: str,
    media: list[str],
) -> None:
    form = load_payload(name)
    response = post_signed(f"/channels/twilio/{route}", form)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    assert response.get_data(as_text=True) == EMPTY_TWIML
    message = session.exec(select(Message)).one()
    assert message.direction == Direction.INBOUND
    assert message.channel == channel
    assert message.provider_id == form["MessageSid"]
    assert message.body == form["Body"]
    assert message.processing_state == ProcessingState.RECEIVED
    reporter = session.get(Reporter, message.reporter_id)
    assert reporter.contact == sender
    assert reporter.name is None  # WhatsApp ProfileName is deliberately not kept
    assert reporter.last_inbound_at is not None
    attachments = session.exec(select(MediaAttachment).order_by(MediaAttachment.id)).all()
    assert [a.content_type for a in attachments] == media
    assert [a.url for a in attachments] == [form[f"MediaUrl{i}"] for i in range(len(media))]


def test_personal_data_is_encrypted_in_the_database(post_signed: Any, session: Session) -> None:
    form = load_payload("sms_basic")
    post_signed("/channels/twilio/sms", form)
    raw = session.connection().exec_driver_sql("SELECT body FROM message").scalar_one()
    contact = session.connection().exec_driver_sql("SELECT contact FROM reporter").scalar_one()
    assert form["Body"] not in raw
    assert "639171234567" not in contact


def test_replayed_message_sid_answers_the_same_and_creates_nothing(
    post_signed: Any, session: Session, app: Any
) -> None:
    form = load_payload("whatsapp_two_media")
    first = post_signed("/channels/twilio/whatsapp", form)
    replay = post_signed("/channels/twilio/whatsapp", form)
    assert (first.status_code, first.get_data()) == (replay.status_code, replay.get_data())
    assert count(session, Message) == 1
    assert count(session, MediaAttachment) == 2
    assert count(session, Reporter) == 1
    from app.queues import get_queues

    assert len(get_queues()["intake"].job_ids) == 1


def test_concurrent_replays_over_http_store_one_message(app: Any, session: Session) -> None:
    import threading

    form = load_payload("sms_basic")
    body, signature = urlencode(form), sign("/channels/twilio/sms", form)
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def deliver() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(
            client.post(
                "/channels/twilio/sms",
                data=body,
                headers={"X-Twilio-Signature": signature},
                content_type="application/x-www-form-urlencoded",
            ).status_code
        )

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200, 200, 200]
    assert count(session, Message) == 1


def test_same_sid_on_the_other_channel_is_a_different_message(post_signed: Any, session: Session) -> None:
    sms = load_payload("sms_basic")
    wa = {**load_payload("whatsapp_text"), "MessageSid": sms["MessageSid"]}
    assert post_signed("/channels/twilio/sms", sms).status_code == 200
    assert post_signed("/channels/twilio/whatsapp", wa).status_code == 200
    assert count(session, Message) == 2


SIGNATURE_CASES = [
    ("missing signature", None, ""),
    ("empty signature", "", ""),
    ("signed with another token", "other-token", ""),
    ("signed for another path", "path", ""),
    ("body changed after signing", "tampered", ""),
]


@pytest.mark.parametrize(("label", "variant", "_unused"), SIGNATURE_CASES, ids=[c[0] for c in SIGNATURE_CASES])
def test_bad_signature_is_refused_and_nothing_stored(
    client: FlaskClient, session: Session, label: str, variant: str | None, _unused: str
) -> None:
    form = load_payload("sms_basic")
    headers: dict[str, str] = {}
    sent = dict(form)
    if variant == "other-token":
        headers["X-Twilio-Signature"] = sign("/channels/twilio/sms", form, token="other-token")
    elif variant == "path":
        headers["X-Twilio-Signature"] = sign("/channels/twilio/whatsapp", form)
    elif variant == "tampered":
        headers["X-Twilio-Signature"] = sign("/channels/twilio/sms", form)
        sent["Body"] = "something else"
    elif variant == "":
        headers["X-Twilio-Signature"] = ""
    response = client.post(
        "/channels/twilio/sms", data=urlencode(sent), headers=headers, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 403
    assert response.get_json() == {"error": "invalid or missing X-Twilio-Signature"}
    assert count(session, Message) == 0


def test_unconfigured_auth_token_refuses_every_webhook(make_app: Any) -> None:
    unconfigured = make_app(TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    form = load_payload("sms_basic")
    response = unconfigured.test_client().post(
        "/channels/twilio/sms",
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign("/channels/twilio/sms", form, token="")},
    )
    assert response.status_code == 403


def test_signature_covers_the_query_string(post_signed: Any, session: Session) -> None:
    form = load_payload("sms_basic")
    assert post_signed("/channels/twilio/sms", form, query="src=console").status_code == 200
    assert count(session, Message) == 1


def test_signature_with_hmac_sha256_settings_header(client: FlaskClient, session: Session) -> None:
    from twilio.request_validator import RequestValidator

    from tests.channels.conftest import AUTH_TOKEN, PUBLIC_BASE_URL

    form = load_payload("sms_basic")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC_BASE_URL + "/channels/twilio/sms", form, algorithm="HMAC_SHA256"
    )
    response = client.post(
        "/channels/twilio/sms",
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature, "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_SHA256"},
    )
    assert response.status_code == 200


def without(form: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in form.items() if k not in keys}


SMS = load_payload("sms_basic")
WA_MEDIA = load_payload("whatsapp_two_media")
BAD_FORMS = [
    # label, route, form, status, error fragment
    ("missing MessageSid", "sms", without(SMS, "MessageSid"), 400, "MessageSid"),
    ("malformed MessageSid", "sms", {**SMS, "MessageSid": "SM123"}, 400, "MessageSid"),
    ("missing From", "sms", without(SMS, "From"), 400, "From is required"),
    ("From is not a number", "sms", {**SMS, "From": "hello"}, 400, "From is not a valid phone number"),
    ("From is too short", "sms", {**SMS, "From": "+12"}, 400, "From is not a valid phone number"),
    ("From is letters after a plus", "sms", {**SMS, "From": "+abcdefghij"}, 400, "not a valid phone"),
    ("whatsapp sender on the sms route", "sms", {**SMS, "From": "whatsapp:+639171234567"}, 400, "From must be"),
    ("sms sender on the whatsapp route", "whatsapp", {**WA_MEDIA, "From": "+251911234567"}, 400, "From must be"),
    ("missing To", "sms", without(SMS, "To"), 400, "To is required"),
    ("To is not a number", "sms", {**SMS, "To": "our-number"}, 400, "To is not a valid phone number"),
    ("missing Body", "sms", without(SMS, "Body"), 400, "Body is required"),
    ("Body over 4096 characters", "sms", {**SMS, "Body": "x" * 4097}, 413, "longer than"),
    ("NUL in Body", "sms", {**SMS, "Body": "a\x00b"}, 400, "NUL"),
    ("NumMedia not a number", "whatsapp", {**WA_MEDIA, "NumMedia": "two"}, 400, "NumMedia"),
    ("NumMedia over Twilio's maximum", "whatsapp", {**WA_MEDIA, "NumMedia": "11"}, 400, "NumMedia"),
    ("NumMedia without its MediaUrl", "whatsapp", without(WA_MEDIA, "MediaUrl1"), 400, "MediaUrl1"),
    ("MediaUrl not https", "whatsapp", {**WA_MEDIA, "MediaUrl0": "file:///etc/passwd"}, 400, "https"),
    ("MediaContentType malformed", "whatsapp", {**WA_MEDIA, "MediaContentType0": "<script>"}, 400, "content type"),
    ("WaId disagrees with From", "whatsapp", {**WA_MEDIA, "WaId": "15551234567"}, 400, "WaId"),
    ("bad AccountSid", "sms", {**SMS, "AccountSid": "XX1"}, 400, "AccountSid"),
]


@pytest.mark.parametrize(("label", "route", "form", "status", "fragment"), BAD_FORMS, ids=[c[0] for c in BAD_FORMS])
def test_malformed_signed_form_is_a_4xx_and_stores_nothing(
    post_signed: Any, session: Session, label: str, route: str, form: dict[str, str], status: int, fragment: str
) -> None:
    response = post_signed(f"/channels/twilio/{route}", form)
    assert response.status_code == status
    assert fragment in response.get_json()["error"]
    assert count(session, Message) == 0
    assert count(session, Reporter) == 0


def test_duplicate_field_is_refused(client: FlaskClient, session: Session) -> None:
    pairs = [*SMS.items(), ("Body", "second body")]
    from werkzeug.datastructures import MultiDict

    signature = sign("/channels/twilio/sms", MultiDict(pairs))
    response = client.post(
        "/channels/twilio/sms",
        data=urlencode(pairs),
        headers={"X-Twilio-Signature": signature},
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert count(session, Message) == 0


RAW_BODIES = [
    # label, method, content type, raw body, status
    ("GET instead of POST", "GET", None, b"", 405),
    ("PUT instead of POST", "PUT", "application/x-www-form-urlencoded", b"a=b", 405),
    ("JSON body", "POST", "application/json", b'{"From": "+639171234567"}', 415),
    ("multipart body", "POST", "multipart/form-data; boundary=x", b"--x--", 415),
    ("no content type", "POST", None, b"From=%2B639171234567", 415),
    ("invalid UTF-8 percent-escape", "POST", "application/x-www-form-urlencoded", b"Body=%ff%fe&From=x", 400),
    ("invalid UTF-8 raw bytes", "POST", "application/x-www-form-urlencoded", b"Body=\xff\xfe", 400),
    (
        "body over MAX_CONTENT_LENGTH",
        "POST",
        "application/x-www-form-urlencoded",
        b"Body=" + b"a" * (64 * 1024 + 1),
        413,
    ),
]


@pytest.mark.parametrize(
    ("label", "method", "content_type", "raw", "status"), RAW_BODIES, ids=[c[0] for c in RAW_BODIES]
)
def test_non_form_requests_get_a_clear_4xx(
    client: FlaskClient, session: Session, label: str, method: str, content_type: str | None, raw: bytes, status: int
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.open("/channels/twilio/sms", method=method, data=raw, headers=headers)
    assert response.status_code == status
    assert response.is_json and response.get_json()["error"]
    assert count(session, Message) == 0


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_database_down_answers_503_so_twilio_retries(make_app: Any, tmp_path: Any, kind: str) -> None:
    url = (
        f"sqlite:///{tmp_path}/missing-dir/none.sqlite3"
        if kind == "sqlite"
        else "postgresql://postgres@127.0.0.1:1/none"
    )  # nothing listens on port 1
    broken = make_app(DATABASE_URL=url)
    form = load_payload("sms_basic")
    response = broken.test_client().post(
        "/channels/twilio/sms",
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign("/channels/twilio/sms", form)},
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "retry" in response.get_json()["error"]


def test_redis_down_still_stores_and_answers_2xx(make_app: Any, session: Session) -> None:
    no_redis = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    form = load_payload("sms_basic")
    response = no_redis.test_client().post(
        "/channels/twilio/sms",
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign("/channels/twilio/sms", form)},
    )
    assert response.status_code == 200
    message = session.exec(select(Message)).one()
    assert message.processing_state == ProcessingState.RECEIVED  # the sweeper will pick it up


def outbound_for(session: Session, reporter_phone: str = "+639171234567", sid: str | None = None) -> Message:
    from casework.intake import get_or_create_reporter

    reporter = get_or_create_reporter(session, reporter_phone)
    message = Message(
        reporter_id=reporter.id,
        direction=Direction.OUTBOUND,
        channel=ChannelKind.SMS,
        kind="reply",
        body="hello",
        delivery_status=DeliveryStatus.ACCEPTED,
        provider_id=sid,
    )
    session.add(message)
    session.commit()
    return message


STATUS_CASES = [
    # label, payload, expected status, error code, reporter opted out
    ("delivered", "status_delivered", DeliveryStatus.DELIVERED, None, False),
    ("failed 21610: opted out at Twilio", "status_failed_21610", DeliveryStatus.FAILED, "21610", True),
    ("undelivered 30003", "status_undelivered_30003", DeliveryStatus.UNDELIVERED, "30003", False),
]


@pytest.mark.parametrize(
    ("label", "name", "expected", "code", "opted_out"), STATUS_CASES, ids=[c[0] for c in STATUS_CASES]
)
def test_status_callback_records_delivery(
    post_signed: Any,
    session: Session,
    label: str,
    name: str,
    expected: DeliveryStatus,
    code: str | None,
    opted_out: bool,
) -> None:
    form = load_payload(name)
    message = outbound_for(session, sid=form["MessageSid"])
    response = post_signed("/channels/twilio/status", form, query=f"m={message.id}")
    assert response.status_code == 204
    session.expire_all()
    stored = session.get(Message, message.id)
    assert (stored.delivery_status, stored.delivery_error_code) == (expected, code)
    assert session.get(Reporter, stored.reporter_id).opted_out is opted_out
    if opted_out:
        assert session.exec(select(CaseEvent.action)).all() == ["reporter_opted_out"]


def test_status_callback_without_our_id_finds_the_message_by_sid(post_signed: Any, session: Session) -> None:
    form = load_payload("status_delivered")
    message = outbound_for(session, sid=form["MessageSid"])
    assert post_signed("/channels/twilio/status", form).status_code == 204
    session.expire_all()
    assert session.get(Message, message.id).delivery_status == DeliveryStatus.DELIVERED


def test_status_callback_adopts_the_sid_of_a_send_that_never_committed(post_signed: Any, session: Session) -> None:
    form = load_payload("status_delivered")
    message = outbound_for(session, sid=None)
    assert post_signed("/channels/twilio/status", form, query=f"m={message.id}").status_code == 204
    session.expire_all()
    assert session.get(Message, message.id).provider_id == form["MessageSid"]


def test_late_status_does_not_move_a_message_backwards(post_signed: Any, session: Session) -> None:
    form = load_payload("status_delivered")
    message = outbound_for(session, sid=form["MessageSid"])
    post_signed("/channels/twilio/status", form, query=f"m={message.id}")
    post_signed(
        "/channels/twilio/status", {**form, "MessageStatus": "sent", "SmsStatus": "sent"}, query=f"m={message.id}"
    )
    session.expire_all()
    assert session.get(Message, message.id).delivery_status == DeliveryStatus.DELIVERED


def test_status_callback_for_another_messages_sid_changes_nothing(post_signed: Any, session: Session) -> None:
    form = load_payload("status_delivered")
    message = outbound_for(session, sid="SM" + "0" * 32)
    assert post_signed("/channels/twilio/status", form, query=f"m={message.id}").status_code == 204
    session.expire_all()
    assert session.get(Message, message.id).delivery_status == DeliveryStatus.ACCEPTED


def test_status_callback_for_an_unknown_message_is_acknowledged(post_signed: Any, session: Session) -> None:
    assert post_signed("/channels/twilio/status", load_payload("status_delivered")).status_code == 204


@pytest.mark.parametrize(
    ("label", "change", "fragment"),
    [
        ("unknown status word", {"MessageStatus": "exploded", "SmsStatus": "exploded"}, "MessageStatus"),
        ("error code not a number", {"ErrorCode": "21610; DROP TABLE"}, "ErrorCode"),
        ("bad MessageSid", {"MessageSid": "nope", "SmsSid": "nope"}, "MessageSid"),
    ],
    ids=["unknown status word", "error code not a number", "bad MessageSid"],
)
def test_malformed_status_callback_is_a_400(
    post_signed: Any, session: Session, label: str, change: dict[str, str], fragment: str
) -> None:
    form = load_payload("status_delivered")
    message = outbound_for(session, sid=form["MessageSid"])
    response = post_signed("/channels/twilio/status", {**form, **change}, query=f"m={message.id}")
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]
    session.expire_all()
    assert session.get(Message, message.id).delivery_status == DeliveryStatus.ACCEPTED
