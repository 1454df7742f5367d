"""Personal data never reaches the logs, whatever a caller passes to the logger."""

from __future__ import annotations

import json
import logging

import pytest

from app.logs import JsonFormatter, RedactingFilter, redact

PLANTED = [
    "+639171234567",
    "0917 123 4567",
    "09171234567",
    "maria.santos@example.com",
    "P1234567",
    # local spellings and document numbers the first patterns missed (found by tests/reliability)
    "980-1234567",
    "(02) 8123 4567",
    "06 12 34 56 78",
    "P1234567A",
    "p1234567a",
    "EC0123456",
]


@pytest.mark.parametrize("value", PLANTED)
def test_redact_masks_personal_values(value: str) -> None:
    assert value not in redact(f"reporter {value} wrote")


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-25 12:07:22",
        "case K7M2-9QXD",
        "job inbound-12",
        "HTTP 503",
        "worker e9b5757e9eea4c1a03a8f4ddc",
        "took 0.0123 s",
        "2026-11-25T14:54:54.158+00:00",
        '"POST /x HTTP/1.1" 201 4540',
        "127.0.0.1:38327",
        "job compliance-1-1795619146",
        "twilio-python/9.13.0",
        "took 1234.5678 ms",
        "period 2025-01..2025-06",
        "SM00000000000000000000000000000001",
    ],
)
def test_redact_keeps_operational_values(value: str) -> None:
    assert redact(value) == value


# As the twilio client, urllib3 and requests write a request URL (the retry path's look-up of
# sent messages has the reporter's number in `To=`), and as a query string spells a message.
URL_ENCODED = [
    "GET Request: https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
    "?To=whatsapp%3A%2B9779812345678&From=whatsapp%3A%2B14155238886&PageSize=50",
    'http://127.0.0.1:40121 "GET /2010-04-01/Accounts/AC01/Messages.json?To=%2B9779812345678 HTTP/1.1" 200 717',
    "Max retries exceeded with url: /Messages.json?To=whatsapp%3a%2b9779812345678 (Caused by NewConnectionError)",
    "To=9779812345678&PageSize=50",
    "To=whatsapp%3A9779812345678",
    "To=whatsapp%253A%252B9779812345678",  # encoded twice
    "Body=call+me+on+981+234+5678",
    "Body=call%20me%20on%20981-2345678",
    "Email=maria.santos%40example.com",
]


@pytest.mark.parametrize("text", URL_ENCODED)
def test_redact_masks_url_encoded_personal_values(text: str) -> None:
    redacted = redact(text)
    for value in ("9812345678", "981 234 5678", "981-2345678", "maria.santos", "%2B977", "%2b977"):
        assert value not in redacted
    assert "[redacted]" in redacted


@pytest.mark.parametrize(
    "value",
    [
        "GET /report?lang=ne",
        "GET /2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json?PageSize=50",
        "100% done",
        "C++ and a+b",
        "DateSent%3E=2026-11-25",
    ],
)
def test_redact_keeps_operational_url_values(value: str) -> None:
    assert redact(value) == value


def test_exception_and_stack_text_are_redacted_url_decoded_too(app, caplog: pytest.LogCaptureFixture) -> None:
    url = "/2010-04-01/Accounts/AC01/Messages.json?To=whatsapp%3A%2B9779812345678&PageSize=50"
    with caplog.at_level(logging.DEBUG):
        try:
            raise ConnectionError(f"Max retries exceeded with url: {url}")
        except ConnectionError:
            logging.getLogger("anything").exception("send failed")
    [record] = caplog.records
    assert "Max retries exceeded" in (record.exc_text or "")
    assert "9812345678" not in (record.exc_text or "")
    stacked = logging.getLogger("tulay.test").makeRecord(
        "tulay.test", logging.INFO, __file__, 1, "look-up", (), None, sinfo=f"Stack:\n  lookup({url!r})"
    )
    RedactingFilter().filter(stacked)
    line = JsonFormatter().format(stacked)
    assert "lookup(" in json.loads(line)["stack"]
    assert "9812345678" not in line


def test_loggers_that_write_request_urls_are_kept_at_warning(app) -> None:
    from app.logs import QUIET_LOGGERS

    assert {"twilio", "urllib3", "requests", "werkzeug"} <= set(QUIET_LOGGERS)
    for name in ("twilio.http_client", "urllib3.connectionpool", "werkzeug"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)
        assert logging.getLogger(name).isEnabledFor(logging.WARNING)


def test_every_record_is_redacted_including_extras_and_tracebacks(app) -> None:
    record = logging.getLogger("tulay.test").makeRecord(
        "tulay.test",
        logging.ERROR,
        __file__,
        1,
        "inbound from %s",
        ("+639171234567",),
        None,
        extra={"From": "+639171234567", "detail": {"Body": "my passport P1234567"}},
    )
    try:
        raise ValueError("number +639171234567 rejected")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    line = JsonFormatter().format(record)
    for value in ("639171234567", "P1234567"):
        assert value not in line
    assert json.loads(line)["level"] == "error"


def test_app_logs_are_redacted_at_creation(app, caplog: pytest.LogCaptureFixture) -> None:
    # caplog's handler has no filter of ours: redaction must already have happened.
    with caplog.at_level(logging.INFO):
        logging.getLogger("anything").info("sms from %s", "+639171234567")
    assert "639171234567" not in caplog.text
    assert "[redacted]" in caplog.text


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("Invalid request from ip=203.0.113.7: Invalid HTTP request line: 'GARBAGE /report?lang=ne'", ()),
        ("Error handling request %s %s", ("POST", "/report?lang=ne&phone=%2B639171234567")),
    ],
)
def test_web_server_lines_lose_client_address_and_query(message: str, args: tuple[str, ...]) -> None:
    from app.logs import ServerLogFilter

    record = logging.makeLogRecord({"name": "gunicorn.error", "msg": message, "args": args})
    ServerLogFilter().filter(record)
    line = record.getMessage()
    for trace in ("203.0.113.7", "lang=ne", "639171234567", "9171234567"):
        assert trace not in line
    assert "/report?[query]" in line
