"""Filters over the public release (period and dimensions), parsed strictly from query parameters."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from casework.compliance.schema import FILTER_DIMENSIONS
from casework.texts import N_


class InvalidFilter(ValueError):
    """A summary or records filter is unknown or malformed; the message says which.

    `message` is an English gettext message id with %(name)s parameters in `params`, so a page
    can show it in the visitor's language; str() is the English text (the JSON API's error).
    """

    def __init__(self, message: str, **params: str) -> None:
        super().__init__(message % params)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Filters:
    """A period (inclusive YYYY-MM bounds) and exact-match dimension filters."""

    start: str | None = None
    end: str | None = None
    dimensions: Mapping[str, str] = field(default_factory=dict)

    def matches(self, row: Mapping[str, Any]) -> bool:
        if self.start or self.end:
            month = row.get("closed_month")
            if month is None or (self.start and month < self.start) or (self.end and month > self.end):
                return False
        return all(row.get(name) == value for name, value in self.dimensions.items())


def _month(text: str) -> date:
    # Exactly YYYY-MM in ASCII digits: bounds are compared as text, and strptime would also take
    # "2025-1" or fullwidth digits, which sort apart from the months they name.
    try:
        if not re.fullmatch(r"\d{4}-\d{2}", text, flags=re.ASCII):
            raise ValueError(text)
        parsed = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise InvalidFilter(N_("period bounds must be YYYY-MM, got %(value)s"), value=repr(text)) from None
    if not 2000 <= parsed.year <= 2100:
        raise InvalidFilter(N_("period bound %(value)s is out of range (2000-2100)"), value=repr(text))
    return parsed


def parse_filters(params: Mapping[str, str], *, allowed: Iterable[str] = ()) -> Filters:
    """Validate `period=YYYY-MM..YYYY-MM` and dimension filters; raise InvalidFilter on anything else.

    `allowed` names extra parameters the caller handles itself (e.g. page, lang).
    """
    extra = set(allowed)
    unknown = sorted(set(params) - set(FILTER_DIMENSIONS) - {"period"} - extra)
    if unknown:
        raise InvalidFilter(
            N_("unknown filter(s): %(names)s; use period, %(known)s"),
            names=", ".join(unknown),
            known=", ".join(FILTER_DIMENSIONS),
        )
    start = end = None
    period = (params.get("period") or "").strip()
    if period:
        first, sep, last = period.partition("..")
        if not sep or not first or not last:
            raise InvalidFilter(N_("period must be YYYY-MM..YYYY-MM"))
        if _month(first) > _month(last):
            raise InvalidFilter(N_("period starts after it ends"))
        start, end = first, last
    dimensions = {}
    for name in FILTER_DIMENSIONS:
        value = (params.get(name) or "").strip()
        if not value:
            continue
        if len(value) > 32 or not all(c.isascii() and (c.isalnum() or c == "_") for c in value):
            raise InvalidFilter(N_("%(name)s must be a code of letters, digits or _"), name=name)
        dimensions[name] = value.upper() if name == "country" else value.lower()
    return Filters(start=start, end=end, dimensions=dimensions)
