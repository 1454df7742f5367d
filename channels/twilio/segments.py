"""SMS segment arithmetic: GSM-7 vs UCS-2, as carriers count it.

A GSM-7 message fits 160 septets in one segment or 153 per segment when concatenated (the
extension characters such as € { } [ ] cost two); one character outside GSM-7 makes the
whole message UCS-2: 70 UTF-16 units alone, 67 per segment concatenated (an emoji costs two).
https://www.twilio.com/docs/glossary/what-is-gsm-7-character-encoding
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("\f^{}\\[~]|€")
# Typographic characters that phones and editors slip into text; each has a GSM-7 twin. Only
# used when swapping them makes the *whole* text GSM-7 (halving the segment count for Latin text).
GSM7_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "…": "...",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "•": "-",
    }
)


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _pack(costs: list[int], single: int, multi: int) -> int:
    """Segments needed; a two-unit character (escape pair, surrogate pair) is never split."""
    total = sum(costs)
    if total <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return segments


def count_segments(text: str) -> SegmentCount:
    """The encoding and number of SMS segments `text` needs."""
    if is_gsm7(text):
        costs = [2 if c in GSM7_EXTENSION else 1 for c in text]
        return SegmentCount("GSM-7", sum(costs), _pack(costs, 160, 153))
    costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return SegmentCount("UCS-2", sum(costs), _pack(costs, 70, 67))


def prefer_gsm7(text: str) -> str:
    """`text` with typographic look-alikes made plain, if that makes it all GSM-7; else unchanged."""
    plain = text.translate(GSM7_LOOKALIKES)
    return plain if plain != text and is_gsm7(plain) else text
