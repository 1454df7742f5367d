"""The web channel: a submitted /report or /status form becomes a validated `InboundMessage`.

Knows nothing of Flask (it takes the form as a mapping); the app owns requests and storage.
Error texts are gettext message ids marked with N_, translated by the page that shows them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from babel import Locale

from casework.intake import InboundMessage
from casework.privacy import InvalidPhoneNumber, normalize_phone
from casework.texts import N_, SECTOR_TEXTS

MAX_BODY_CHARS = 5000
MAX_EMPLOYER_CHARS = 200
MAX_NAME_CHARS = 120
MAX_PHONE_CHARS = 32
CONTACT_CHANNELS = ("sms", "whatsapp")
# Babel's territory list holds some codes that are not countries one can work in.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
# Control characters (NUL breaks PostgreSQL text) except tab and newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: a gettext message id and its %(name)s parameters."""

    message: str
    params: dict[str, int] = field(default_factory=dict)


class InvalidForm(ValueError):
    """The form has problems; `errors` maps each field name to its FieldError."""

    def __init__(self, errors: dict[str, FieldError]) -> None:
        super().__init__(", ".join(sorted(errors)))
        self.errors = errors


@dataclass(frozen=True)
class WebReport:
    """A valid /report submission: the message itself and the case facts around it."""

    message: InboundMessage
    country: str
    sector: str | None
    employer: str | None
    name: str | None
    contact_channel: str | None  # sms or whatsapp when a number was given, else None


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes of the countries a reporter can choose."""
    return frozenset(
        code
        for code in Locale("en").territories
        if isinstance(code, str) and len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    )


def clean_text(raw: object) -> str:
    """Strip control characters and surrounding space; normalise newlines and Unicode (NFC)."""
    text = str(raw or "").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _CONTROL.sub("", text)).strip()


def _text(
    form: Mapping[str, str], name: str, limit: int, errors: dict[str, FieldError], required_message: str | None = None
) -> str | None:
    value = clean_text(form.get(name))
    if not value:
        if required_message:
            errors[name] = FieldError(required_message)
        return None
    if len(value) > limit:
        errors[name] = FieldError(N_("Please keep this under %(limit)s characters."), {"limit": limit})
        return None
    return value


def parse_report(form: Mapping[str, str], *, language: str, received_at: datetime | None = None) -> WebReport:
    """Validate a /report form. Raises InvalidForm listing every bad field (nothing is stored)."""
    errors: dict[str, FieldError] = {}
    body = _text(form, "body", MAX_BODY_CHARS, errors, N_("Please tell us what happened."))
    country = clean_text(form.get("country")).upper()
    if country not in country_codes():
        errors["country"] = FieldError(N_("Please choose a country from the list."))
    sector = clean_text(form.get("sector")) or None
    if sector is not None and sector not in SECTOR_TEXTS:
        errors["sector"] = FieldError(N_("Please choose a type of work from the list."))
    employer = _text(form, "employer", MAX_EMPLOYER_CHARS, errors)
    name = _text(form, "name", MAX_NAME_CHARS, errors)
    phone = _text(form, "phone", MAX_PHONE_CHARS, errors)
    consent = form.get("consent") == "yes"
    contact_channel = form.get("contact_channel") or "sms"
    if contact_channel not in CONTACT_CHANNELS:
        errors["contact_channel"] = FieldError(N_("Please choose SMS or WhatsApp."))
    sender = None
    if phone is not None:
        try:
            # A number without +country code is read as a number of the country of work.
            sender = normalize_phone(phone, country if country in country_codes() else None)
        except InvalidPhoneNumber:
            errors["phone"] = FieldError(
                N_("This does not look like a phone number. Include the country code, for example +63.")
            )
        if sender is not None and not consent:
            # A number is kept only with consent: without it the reporter stays anonymous.
            errors["consent"] = FieldError(
                N_("To let us contact you, tick this box. Or leave the number empty to stay anonymous.")
            )
    if errors:
        raise InvalidForm(errors)
    assert body is not None
    message = InboundMessage(
        channel="web",
        external_id=None,
        sender=sender,
        body=body,
        received_at=received_at or datetime.now(UTC),
        language_hint=language,
    )
    return WebReport(
        message=message,
        country=country,
        sector=sector,
        employer=employer,
        name=name,
        contact_channel=contact_channel if sender else None,
    )


def parse_followup(form: Mapping[str, str], *, language: str, received_at: datetime | None = None) -> InboundMessage:
    """Validate a message added on /status. Raises InvalidForm (nothing is stored)."""
    errors: dict[str, FieldError] = {}
    body = _text(form, "body", MAX_BODY_CHARS, errors, N_("Please write your message."))
    if errors:
        raise InvalidForm(errors)
    assert body is not None
    return InboundMessage(
        channel="web",
        external_id=None,
        sender=None,
        body=body,
        received_at=received_at or datetime.now(UTC),
        language_hint=language,
    )
