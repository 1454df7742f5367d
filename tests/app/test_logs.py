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
