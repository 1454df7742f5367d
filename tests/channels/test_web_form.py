"""The web form becomes a validated InboundMessage, or a list of field errors (nothing else)."""

from __future__ import annotations

from typing import Any

import pytest

from channels.web_form import (
    MAX_BODY_CHARS,
    InvalidForm,
    clean_text,
    country_codes,
    parse_followup,
    parse_report,
)

VALID = {
    "body": "No me han pagado en tres meses.",
    "country": "AE",
    "sector": "construction",
    "employer": "Al Noor Contracting",
    "name": "",
    "phone": "",
    "lang": "es",
}


def form(**changes: Any) -> dict[str, str]:
    return {**VALID, **changes}


def test_anonymous_report_has_no_sender_and_carries_the_chosen_language() -> None:
    report = parse_report(form(), language="es")
    assert report.message.channel == "web"
    assert report.message.sender is None and report.message.external_id is None
    assert report.message.language_hint == "es"
    assert (report.country, report.sector, report.employer, report.name) == (
        "AE",
        "construction",
        "Al Noor Contracting",
        None,
    )


@pytest.mark.parametrize(
    ("label", "phone", "country", "expected"),
    [
        ("international format", "+971 50 123 4567", "AE", "+971501234567"),
        ("local number read in the country of work", "050 123 4567", "AE", "+971501234567"),
        ("whatsapp prefix", "whatsapp:+639171234567", "PH", "+639171234567"),
    ],
)
def test_phone_with_consent_is_normalised_to_e164(label: str, phone: str, country: str, expected: str) -> None:
    report = parse_report(form(phone=phone, country=country, consent="yes"), language="en")
    assert report.message.sender == expected, label


@pytest.mark.parametrize(
    ("label", "changes", "bad_fields"),
    [
        ("missing body", {"body": "   "}, {"body"}),
        ("oversized body", {"body": "x" * (MAX_BODY_CHARS + 1)}, {"body"}),
        ("unknown country", {"country": "XX"}, {"country"}),
        ("no country", {"country": ""}, {"country"}),
        ("not a country (European Union)", {"country": "EU"}, {"country"}),
        ("unknown sector", {"sector": "<script>"}, {"sector"}),
        ("oversized employer", {"employer": "e" * 201}, {"employer"}),
        ("oversized name", {"name": "n" * 121}, {"name"}),
        ("letters for a phone", {"phone": "call me maybe", "consent": "yes"}, {"phone"}),
        ("too short a phone", {"phone": "+1 23", "consent": "yes"}, {"phone"}),
        ("phone without consent", {"phone": "+639171234567"}, {"consent"}),
        (
            "everything wrong at once",
            {"body": "", "country": "", "phone": "abc", "consent": "yes"},
            {"body", "country", "phone"},
        ),
    ],
)
def test_bad_input_lists_every_bad_field(label: str, changes: dict[str, str], bad_fields: set[str]) -> None:
    with pytest.raises(InvalidForm) as raised:
        parse_report(form(**changes), language="en")
    assert set(raised.value.errors) == bad_fields, label


def test_length_error_carries_the_limit_as_a_parameter() -> None:
    with pytest.raises(InvalidForm) as raised:
        parse_report(form(body="x" * (MAX_BODY_CHARS + 1)), language="en")
    error = raised.value.errors["body"]
    assert error.params == {"limit": MAX_BODY_CHARS}
    assert "%(limit)s" in error.message


def test_control_characters_are_removed_and_newlines_kept() -> None:
    assert clean_text(" a\x00b\r\nc\x1b ") == "ab\nc"
    report = parse_report(form(body="pay\x00 me\r\nnow"), language="en")
    assert report.message.body == "pay me\nnow"


def test_markup_is_kept_as_text_for_the_page_to_escape() -> None:
    report = parse_report(form(body="<script>alert(1)</script>"), language="en")
    assert report.message.body == "<script>alert(1)</script>"


def test_country_list_is_iso_alpha2_without_pseudo_regions() -> None:
    codes = country_codes()
    assert {"PH", "AE", "QA", "SA", "MY", "NP", "BD"} <= codes
    assert not codes & {"EU", "UN", "ZZ", "001"}
    assert all(len(code) == 2 and code.isupper() for code in codes)


def test_followup_needs_a_body_and_has_no_sender() -> None:
    message = parse_followup({"body": " more details "}, language="ar")
    assert (message.body, message.sender, message.language_hint) == ("more details", None, "ar")
    with pytest.raises(InvalidForm):
        parse_followup({"body": ""}, language="ar")


@pytest.mark.parametrize(
    ("label", "changes", "expected"),
    [
        ("number, no choice: SMS", {"phone": "+639171234567", "consent": "yes"}, "sms"),
        (
            "number and WhatsApp",
            {"phone": "+639171234567", "consent": "yes", "contact_channel": "whatsapp"},
            "whatsapp",
        ),
        ("no number: no channel", {"contact_channel": "whatsapp"}, None),
    ],
)
def test_contact_channel_is_kept_only_with_a_number(label: str, changes: dict[str, str], expected: str | None) -> None:
    assert parse_report(form(**changes), language="en").contact_channel == expected, label


def test_unknown_contact_channel_is_a_field_error() -> None:
    with pytest.raises(InvalidForm) as raised:
        parse_report(form(phone="+639171234567", consent="yes", contact_channel="pigeon"), language="en")
    assert set(raised.value.errors) == {"contact_channel"}
