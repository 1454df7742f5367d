"""What the landing page (/) shows: the hotline's public numbers and the emergency numbers by country.

Nothing here reads a request or the database: the page is the same for everyone, in their language.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import phonenumbers
import yaml

EMERGENCY_NUMBERS_PATH = Path(__file__).resolve().parent.parent / "data" / "emergency_numbers.yaml"
# The kinds of number a country may list, in the order the page shows them.
NUMBER_KINDS = ("emergency", "police", "ambulance", "workers")


class EmergencyNumbersError(ValueError):
    """The emergency-numbers file is malformed; the message says where."""


@dataclass(frozen=True)
class PublicNumber:
    """A number the hotline takes reports on: `dial` for links (E.164), `shown` for reading."""

    dial: str
    shown: str


def public_number(configured: str) -> PublicNumber | None:
    """The number to show for a TWILIO_SMS_FROM / TWILIO_WHATSAPP_FROM value, or None.

    A Messaging Service SID (MG…) or an empty setting has no number a worker could write to.
    """
    raw = configured.removeprefix("whatsapp:")
    if not raw.startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(raw)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return PublicNumber(
        dial=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        shown=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    )


@cache
def emergency_numbers(path: Path = EMERGENCY_NUMBERS_PATH) -> dict[str, dict[str, str]]:
    """Country code -> {kind: number}, kinds in NUMBER_KINDS order; raises EmergencyNumbersError."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    countries = data.get("countries") if isinstance(data, dict) else None
    if not isinstance(countries, dict) or not countries:
        raise EmergencyNumbersError(f"{path}: expected a `countries` mapping")
    numbers: dict[str, dict[str, str]] = {}
    for code, entry in countries.items():
        if not (isinstance(code, str) and len(code) == 2 and code.isupper()):
            raise EmergencyNumbersError(f"{path}: {code!r} is not an ISO 3166-1 alpha-2 code")
        if not isinstance(entry, dict) or not entry or set(entry) - set(NUMBER_KINDS):
            raise EmergencyNumbersError(f"{path}: {code}: expected some of {', '.join(NUMBER_KINDS)}")
        for kind, number in entry.items():
            if not (isinstance(number, str) and number.strip() and set(number) <= set("0123456789 -+")):
                raise EmergencyNumbersError(f"{path}: {code}.{kind}: {number!r} is not a phone number")
        numbers[code] = {kind: entry[kind] for kind in NUMBER_KINDS if kind in entry}
    return numbers


def dial_string(number: str) -> str:
    """`number` as a tel: link dials it (spaces and dashes dropped)."""
    return "".join(c for c in number if c.isdigit() or c == "+")
