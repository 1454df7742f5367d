"""The suite's log guard (tests/conftest.py `no_planted_data_in_logs`) finds a planted number or
name however it is spelled, as the app's handler would write the line, and leaves alone what
only looks like one."""

from __future__ import annotations

import logging

from tests.conftest import PlantedDataHandler, planted_in


def test_the_suites_log_scan_finds_planted_data_however_spelled() -> None:
    for spelled in ("+639171234567", "639171234567", "0917 123 4567", "To=whatsapp%3A%2B639171234567", "Siti"):
        assert planted_in(f"x {spelled} y") != [], spelled
    for harmless in ("AC0123456789abcdef0123456789abcdef", "visiting", "[redacted]", "2026-11-25 12:07:22"):
        assert planted_in(harmless) == [], harmless
    handler = PlantedDataHandler()
    record = logging.makeLogRecord({"msg": "from %s, %s", "args": ("+639171234567", "Siti"), "To": "+639171234567"})
    handler.handle(record)
    [(found, line)] = handler.leaks
    assert found == ["siti"] and "[redacted]" in line  # the number is redacted as the app writes it; a name is not
    assert record.args == ("+639171234567", "Siti")  # other handlers get the record unchanged
