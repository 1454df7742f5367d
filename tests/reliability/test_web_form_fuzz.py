"""Hypothesis against the public web forms (/report, /status): random and hostile bodies, in any
encoding and size, never get a 5xx or an unhandled exception; a refused form stores nothing and
an accepted report stores exactly one case."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from app import jobs
from casework.models import Case, CaseEvent, Message, Reporter
from casework.texts import SECTOR_TEXTS, SUPPORTED_LANGUAGES
from tests.app.public_support import REPORT, count, submit_report, view_token

FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
STORED = (Reporter, Case, Message)

# Hostile values: NUL and control characters, bidi overrides and other invisible format characters,
# emoji sequences, markup and SQL, what the form's own fields expect.
HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\x1b[31m",
        "\r\n\r\n",
        "\u202eevil\u202c",
        "\u200f\u200e\u2066x\u2069",
        "\ufeff",
        "😀",
        "👩\u200d👩\u200d👧\u200d👦" * 20,
        "🇵🇭",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%00",
        "%ff",
        "yes",
        "no",
        "sms",
        "whatsapp",
        "email",
        "AE",
        "ph",
        "XX",
        "EU",
        "construction",
        "spy",
        "ABCD-2345",
        "مرحبا، لم يدفعوا لي",
        "मुझे वेतन नहीं मिला",
        "\U0010ffff",
        "\ud7ff",
        "\u0301" * 50,
    ]
)
FULLWIDTH_PHONE = "+639171234567".translate({ord(c): ord(c) + 0xFEE0 for c in "+0123456789"})
# Phone numbers in every shape a reporter (or an attacker) might type, very long ones included.
PHONES = st.one_of(
    st.sampled_from(
        [
            "+639171234567",
            "0917 123 4567",
            "+63 (917) 123-4567",
            "00639171234567",
            "tel:+639171234567",
            "whatsapp:+639171234567",
            "+" + "9" * 40,
            "9" * 31,
            "9" * 33,
            "+0",
            "+",
            "+٩٧١٥٠١٢٣٤٥٦٧",
            FULLWIDTH_PHONE,
            "+63 917 123 4567 ext. 99",
            "+63\x00917 123 4567",
            "+639171234567\u202e",
            "+1 (555) 010-0199",
        ]
    ),
    st.from_regex(r"\+?[0-9 ().-]{1,48}", fullmatch=True),
)
# Values past every field limit (5 000 characters) and past the request limit (64 KiB).
HUGE = st.builds(
    lambda unit, times: unit * times,
    st.sampled_from(["x", "é", "😀", "\u202e", "\x00", "9"]),
    st.integers(4_990, 40_000),
)
SHORT_VALUES = st.one_of(HOSTILE, PHONES, st.text(max_size=80))
VALUES = st.one_of(SHORT_VALUES, HUGE)
REPORT_FIELDS = st.one_of(
    st.sampled_from([*REPORT, "consent", "contact_channel", "csrf_token", "token", "reference", "pin"]),
    st.text(max_size=12),
)
LANGS = st.one_of(st.sampled_from(SUPPORTED_LANGUAGES), st.text(max_size=24))
ENCODINGS = st.sampled_from(["urlencoded", "multipart"])
# Raw bodies that no form encoder would produce: invalid UTF-8, wrong content types and charsets.
CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-1",
        "application/x-www-form-urlencoded; charset=utf-16",
        "application/x-www-form-urlencoded; charset=bogus",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=x",
        "application/json",
        "text/plain",
        "text/html; charset=utf-8",
        "",
    ]
)
VALID_FIELDS = b"&country=AE&sector=construction"
RAW_BODIES = st.one_of(
    st.binary(max_size=2000),
    # A valid report whose body carries raw or percent-escaped bytes (mostly invalid UTF-8).
    st.builds(lambda raw: b"body=No+me+" + raw + b"+pagado" + VALID_FIELDS, st.binary(min_size=1, max_size=200)),
    st.builds(
        lambda raw: b"body=" + quote_from_bytes(raw).encode() + VALID_FIELDS, st.binary(min_size=1, max_size=200)
    ),
    st.builds(
        lambda raw: b'--x\r\nContent-Disposition: form-data; name="body"\r\n\r\n' + raw + b"\r\n--x--\r\n",
        st.binary(max_size=500),
    ),
)


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    # Hundreds of posts from one client would otherwise meet the per-client limit (a 429, not a bug).
    return {**config, "PUBLIC_RATE_LIMIT": "100000 per minute"}


@pytest.fixture
def unhandled(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The app's error handler logs every unhandled exception as "unhandled error" (app/errors.py)."""
    with caplog.at_level(logging.ERROR, logger="app.errors"):
        yield caplog


def counts(session: Session) -> dict[str, int]:
    return {model.__name__: count(session, model) for model in (*STORED, CaseEvent)}


def encode(pairs: list[tuple[str, str]], encoding: str) -> tuple[bytes, str]:
    """Encode form pairs (duplicate keys kept, in order) as urlencoded or multipart."""
    if encoding == "multipart":
        boundary, data = encode_multipart(MultiDict(pairs))
        return data, f"multipart/form-data; boundary={boundary}"
    text = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    return text.encode(), "application/x-www-form-urlencoded"


def post(
    client: FlaskClient, path: str, lang: str, data: bytes, content_type: str, caplog: pytest.LogCaptureFixture
) -> Any:
    caplog.clear()
    response = client.post(f"{path}?lang={quote(lang, safe='')}", data=data, content_type=content_type or None)
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    assert not [r for r in caplog.records if r.name == "app.errors"], caplog.text
    return response


# Each known field: sometimes what it expects, sometimes anything.
REPORT_VALUES = {
    "body": VALUES,
    "employer": VALUES,
    "name": VALUES,
    "country": st.one_of(st.sampled_from(["AE", "ph", " MY ", "XX", "EU"]), VALUES),
    "sector": st.one_of(st.sampled_from(list(SECTOR_TEXTS)), VALUES),
    "phone": st.one_of(PHONES, VALUES),
    "consent": st.one_of(st.just("yes"), VALUES),
    "contact_channel": st.one_of(st.sampled_from(["sms", "whatsapp"]), VALUES),
}


@given(
    changes=st.fixed_dictionaries({}, optional=REPORT_VALUES),
    dropped=st.sets(st.sampled_from(list(REPORT)), max_size=3),
    duplicates=st.lists(st.tuples(REPORT_FIELDS, VALUES), max_size=3),
    encoding=ENCODINGS,
    lang=LANGS,
    filler_parts=st.sampled_from([0, 0, 1_500]),
)  # past werkzeug's limit of 1 000 multipart parts
@FUZZ
def test_random_report_forms_never_5xx_and_store_one_case_or_nothing(
    client: FlaskClient,
    session: Session,
    unhandled: pytest.LogCaptureFixture,
    changes: dict[str, str],
    dropped: set[str],
    duplicates: list[tuple[str, str]],
    encoding: str,
    lang: str,
    filler_parts: int,
) -> None:
    form = {**REPORT, **changes}
    for name in dropped:
        form.pop(name, None)
    data, content_type = encode([*form.items(), *duplicates, *[("x", "1")] * filler_parts], encoding)
    before = counts(session)
    response = post(client, "/report", lang, data, content_type, unhandled)
    after = counts(session)
    assert response.status_code in (200, 400, 413), response.status_code
    if response.status_code == 200:
        assert 'id="reference"' in response.get_data(as_text=True)
        assert after["Case"] == before["Case"] + 1 and after["Message"] == before["Message"] + 1
        # A number already known attaches the report to its reporter; otherwise one new reporter.
        assert after["Reporter"] - before["Reporter"] in (0, 1)
    else:
        assert after == before, response.status_code


@pytest.fixture
def published(app: Flask) -> None:
    """A release published as the worker's refresh job does (none: the dashboard is a 503)."""
    jobs.refresh_compliance_release()


@pytest.fixture
def opened_case(client: FlaskClient) -> dict[str, str]:
    """A reported case, its PIN, and the signed token its /status page carries for adding a message."""
    reference, pin, _ = submit_report(client)
    page = client.post("/status?lang=es", data={"reference": reference, "pin": pin}).get_data(as_text=True)
    return {"reference": reference, "pin": pin, "token": view_token(page)}


STATUS_VALUES = st.one_of(st.just("valid"), VALUES)


@given(
    fields=st.fixed_dictionaries(
        {"token": STATUS_VALUES, "body": STATUS_VALUES}, optional={"reference": STATUS_VALUES, "pin": STATUS_VALUES}
    ),
    dropped=st.sets(st.sampled_from(["token", "body"]), max_size=1),
    duplicates=st.lists(st.tuples(REPORT_FIELDS, VALUES), max_size=2),
    encoding=ENCODINGS,
    lang=LANGS,
)
@FUZZ
def test_random_status_forms_never_5xx_and_store_at_most_the_one_message(
    client: FlaskClient,
    session: Session,
    unhandled: pytest.LogCaptureFixture,
    opened_case: dict[str, str],
    fields: dict[str, str],
    dropped: set[str],
    duplicates: list[tuple[str, str]],
    encoding: str,
    lang: str,
) -> None:
    # "valid" stands for the real reference, PIN or view token, so the fuzz reaches past the PIN check.
    form = {
        name: opened_case.get(name, "Sigo sin cobrar.") if value == "valid" else value
        for name, value in fields.items()
        if name not in dropped
    }
    pairs = [*form.items(), *duplicates]
    data, content_type = encode(pairs, encoding)
    before = counts(session)
    response = post(client, "/status", lang, data, content_type, unhandled)
    after = counts(session)
    assert response.status_code in (200, 400, 413), response.status_code
    assert (after["Reporter"], after["Case"]) == (before["Reporter"], before["Case"])
    added = after["Message"] - before["Message"]
    # Only a valid view token with a valid message adds anything, and then exactly one message.
    assert added == (1 if response.status_code == 200 and any(k == "token" for k, _ in pairs) else 0)


def post_raw(
    client: FlaskClient,
    session: Session,
    unhandled: pytest.LogCaptureFixture,
    path: str,
    raw: bytes,
    content_type: str,
    lang: str,
) -> int:
    """POST a raw body; a refusal stores nothing, an accepted report exactly one case. Returns the status."""
    before = counts(session)
    response = post(client, path, lang, raw, content_type, unhandled)
    after = {k: v for k, v in counts(session).items() if k != "CaseEvent"}  # a wrong PIN is audited
    assert response.status_code in (200, 400, 413), response.status_code
    added = 1 if response.status_code == 200 and path == "/report" else 0
    assert (after["Case"], after["Message"]) == (before["Case"] + added, before["Message"] + added)
    assert after["Reporter"] == before["Reporter"] + added  # a raw report never carries a known number
    return int(response.status_code)


@given(raw=RAW_BODIES, content_type=CONTENT_TYPES, lang=LANGS)
@settings(FUZZ, max_examples=40)
def test_raw_report_bodies_in_any_encoding_never_5xx_and_refusals_store_nothing(
    client: FlaskClient, session: Session, unhandled: pytest.LogCaptureFixture, raw: bytes, content_type: str, lang: str
) -> None:
    post_raw(client, session, unhandled, "/report", raw, content_type, lang)


# Fewer examples: every refused /status costs an argon2 PIN check (on purpose, see casework/web_intake.py).
@given(raw=RAW_BODIES, content_type=CONTENT_TYPES, lang=LANGS)
@settings(FUZZ, max_examples=15)
def test_raw_status_bodies_in_any_encoding_never_5xx_and_store_nothing(
    client: FlaskClient, session: Session, unhandled: pytest.LogCaptureFixture, raw: bytes, content_type: str, lang: str
) -> None:
    post_raw(client, session, unhandled, "/status", raw, content_type, lang)


@pytest.fixture
def csrf_client(make_app: Any) -> FlaskClient:
    client: FlaskClient = make_app(WTF_CSRF_ENABLED=True, PUBLIC_RATE_LIMIT="100000 per minute").test_client()
    return client


@given(raw=RAW_BODIES, content_type=CONTENT_TYPES)
@settings(FUZZ, max_examples=30)
def test_csrf_check_refuses_hostile_bodies_without_5xx(
    csrf_client: FlaskClient, session: Session, unhandled: pytest.LogCaptureFixture, raw: bytes, content_type: str
) -> None:
    # In production the CSRF check parses the body before the view does; no token, so never accepted.
    before = counts(session)
    response = post(csrf_client, "/report", "es", raw, content_type, unhandled)
    assert response.status_code in (400, 413), response.status_code
    assert counts(session) == before


QUERY_KEYS = st.one_of(
    st.sampled_from(["lang", "category", "country", "sector", "channel", "period", "page"]), st.text(max_size=10)
)
# Raw percent-escapes (invalid UTF-8 among them) and hostile text, as a query string may carry.
QUERY_VALUES = st.one_of(SHORT_VALUES, st.sampled_from(["%ff%fe", "%00", "%", "%zz", "es&lang=ar", "ar;ur"]))


@given(
    path=st.sampled_from(["/report", "/status", "/transparency"]),
    query=st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=5),
    accept_language=st.one_of(
        st.none(),
        st.sampled_from(["ar", "*", "ne-NP,ne;q=0.9", "q=;;,", "es;q=abc"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=40),
    ),
)
@FUZZ
def test_pages_with_random_query_strings_never_5xx(
    published: None,
    client: FlaskClient,
    unhandled: pytest.LogCaptureFixture,
    path: str,
    query: list[tuple[str, str]],
    accept_language: str | None,
) -> None:
    # Keys are quoted; values go in raw where they are percent-escapes, so invalid UTF-8 reaches the app.
    text = "&".join(f"{quote(k, safe='')}={v if v.startswith('%') else quote(v, safe='')}" for k, v in query)
    headers = {"Accept-Language": accept_language} if accept_language is not None else {}
    unhandled.clear()
    response = client.get(f"{path}?{text}", headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    assert not [r for r in unhandled.records if r.name == "app.errors"], unhandled.text
    # The forms always render (an unknown language falls back); the dashboard may refuse a bad filter.
    assert response.status_code in ((200,) if path != "/transparency" else (200, 400)), response.status_code
