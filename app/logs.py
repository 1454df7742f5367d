"""Structured (JSON-lines) logging with a redaction filter in front of every handler.

Code never logs personal data on purpose; the filter is the second line of defence: it masks
anything shaped like a phone number, e-mail address or passport/ID number, also URL-encoded
(`To=whatsapp%3A%2B977…`), and drops values of keys declared sensitive (Twilio's From/To/Body,
…), wherever they appear in a record: message, arguments, `extra=` fields, traceback, stack.
Third-party loggers whose lines are request URLs, headers or client addresses are kept at
WARNING (`QUIET_LOGGERS`). No line holds a client's address, user agent or query string: the
app writes its own request line (`init_app`), and gunicorn's log goes through `ServerLogFilter`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from flask import Flask, Response, g, request

SENSITIVE_KEYS = frozenset(
    {
        "from",
        "to",
        "body",
        "waid",
        "profilename",
        "contact",
        "phone",
        "name",
        "email",
        "pin",
        "password",
        "token",
        "mediaurl0",
        "text",
        "translation",
        "employer",
        "authorization",
    }
)
_PATTERNS = [
    # phone numbers: +country…, long digit runs, or 3-4 digit groups (dates and ids stay readable)
    re.compile(r"(?:whatsapp:)?\+\d[\d\s().-]{5,}\d"),
    re.compile(r"(?<![\w.-])\d{7,}(?![\w])"),
    re.compile(r"(?<![\w.-])\(?\d{3,4}\)?[\s.-]\d{3,4}[\s.-]\d{3,4}(?![\w])"),
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),  # e-mail addresses
    # passport / ID document numbers, in any letter case: P1234567A (Philippines), EC0123456, …
    re.compile(r"\b[A-Z]{1,2}\d{6,9}[A-Z]?\b", re.IGNORECASE),
]
# Other local spellings of a number: digit groups split by spaces, dots, dashes or parentheses
# ("980-1234567", "(02) 8123 4567", "06 12 34 56 78"). A number once they hold 7+ digits in
# 3+ groups or in a group of 6+ (so "HTTP 201 4540" stays), unless it is a date, IP or decimal.
_GROUPED_DIGITS = re.compile(r"(?<![\w.:/-])\(?\d+(?:(?:[ .-]|\) ?)\(?\d+)+(?![\w:/]|[.-]\d)")
_NOT_A_NUMBER = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,3}(?:\.\d{1,3}){3}|\d+\.\d+")
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# A run of text holding a URL escape (%2B, %3A, …) or a '+' (a space, in a query string).
_ENCODED_RUN = re.compile(r"[^\s\"'<>]*(?:%[0-9A-Fa-f]{2}|\+)[^\s\"'<>]*")
_MAX_DECODINGS = 3  # "%252B" is "+" encoded twice

# Loggers kept at WARNING: their INFO and DEBUG lines are HTTP requests, and a request's URL,
# query string or headers carry personal data. twilio's client logs each request URL at INFO
# (a look-up of sent messages has the reporter's number in `To=`); urllib3 logs each request
# line at DEBUG; werkzeug's development server logs each client address and query string.
QUIET_LOGGERS = ("twilio", "urllib3", "requests", "werkzeug")


def _grouped_number(match: re.Match[str]) -> str:
    candidate = match.group()
    groups = re.findall(r"\d+", candidate)
    digits = sum(len(group) for group in groups)
    if digits < 7 or (len(groups) < 3 and max(map(len, groups)) < 6) or _NOT_A_NUMBER.fullmatch(candidate):
        return candidate
    return "[redacted]"


def _redact_plain(text: str) -> str:
    text = _GROUPED_DIGITS.sub(_grouped_number, text)
    for pattern in _PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


def _redact_encoded(match: re.Match[str]) -> str:
    """A URL-encoded run is written decoded, with what it hides masked, if it hides anything."""
    run = decoded = match.group()
    for _ in range(_MAX_DECODINGS):
        once_more = unquote_plus(decoded)
        if once_more == decoded:
            break
        decoded = once_more
    cleaned = _redact_plain(decoded)
    return cleaned if cleaned != decoded else run


def redact(text: str) -> str:
    """`text` with personal data masked, as written and URL-decoded (%2B, %3A, + for space)."""
    return _ENCODED_RUN.sub(_redact_encoded, _redact_plain(text))


def _clean(key: str, value: Any) -> Any:
    if key.lower() in SENSITIVE_KEYS:
        return "[redacted]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _clean(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean("", v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Rewrite the record in place so no handler ever sees personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None  # formatted (and redacted) above; never re-rendered raw
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key in set(record.__dict__) - _STANDARD_ATTRS:
            record.__dict__[key] = _clean(key, record.__dict__[key])
        return True


# In a web server's own lines: "Invalid request from ip=203.0.113.7: …", a request line's query.
_CLIENT_ADDRESS = re.compile(r"\bip=\S+")
_QUERY_STRING = re.compile(r"\?[^\s'\"]*")


class ServerLogFilter(RedactingFilter):
    """For gunicorn's own log: redaction, and no client address or query string either (a
    refused request's line, `GET /report?lang=ne`, says who reports from where)."""

    def filter(self, record: logging.LogRecord) -> bool:
        super().filter(record)
        record.msg = _QUERY_STRING.sub("?[query]", _CLIENT_ADDRESS.sub("ip=[client]", str(record.msg)))
        if record.exc_text:
            record.exc_text = _QUERY_STRING.sub("?[query]", _CLIENT_ADDRESS.sub("ip=[client]", record.exc_text))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS})
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


_redactor = RedactingFilter()
_base_factory = logging.getLogRecordFactory()


def _redacting_record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    _redactor.filter(record)
    return record


def configure_logging(level: str = "INFO") -> None:
    """Redact every log record at creation (whatever handler later sees it), keep the
    `QUIET_LOGGERS` at WARNING and send JSON lines to stderr; idempotent."""
    logging.setLogRecordFactory(_redacting_record_factory)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_tulay", False):
            handler.setLevel(level.upper())
            return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_redactor)  # again at the handler: `extra=` keys are attached after creation
    handler._tulay = True  # type: ignore[attr-defined]
    handler.setLevel(level.upper())
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, logging.getLevelName(level.upper())))


request_log = logging.getLogger("tulay.request")
# URL parts that are secrets (a password-reset link's token): the log gets the route's pattern instead.
SECRET_URL_ARGS = frozenset({"token"})


def loggable_path() -> str:
    """The request's path, or its route pattern when a secret is part of it."""
    rule = request.url_rule
    if rule is not None and SECRET_URL_ARGS & set(rule.arguments):
        return rule.rule
    return request.path


def init_app(app: Flask) -> None:
    """One line per request, in place of a web server's access log: method, path (never the query
    string), status and duration. Never the client's address or user agent: with the time of a
    `POST /report?lang=ne`, they say who reported, and undo the rate limiter's keyed hashing."""

    @app.before_request
    def _start_clock() -> None:
        g.request_log_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        started = g.get("request_log_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        path = loggable_path()
        request_log.info(
            "%s %s %s",
            request.method,
            path,
            response.status_code,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response
