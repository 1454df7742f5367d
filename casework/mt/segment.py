"""Sentence splitting for MT: small, offline and predictable (argos's own splitters reach for the
network, see README). Paragraphs (newlines) are kept; sentences end at terminal punctuation;
overlong runs are cut at spaces so no segment exceeds what a model handles well."""

from __future__ import annotations

import re

MAX_SEGMENT_CHARS = 400
# Terminal punctuation of our languages: Latin/Cyrillic, Arabic/Urdu question mark and full stop,
# Devanagari danda, Ethiopic full stop and question mark, Myanmar section mark, CJK full-width.
_BOUNDARY = re.compile(r"[.!?…؟۔।॥።፧။]+[\"'»”’)\]]*\s+|[。！？]+")  # noqa: RUF001 - intended
# A period after these (or after a single letter, an initial) rarely ends a sentence.
ABBREVIATIONS = frozenset(
    {
        "dr",
        "dra",
        "mr",
        "mrs",
        "ms",
        "sr",
        "sra",
        "srta",
        "st",
        "prof",
        "no",
        "nr",
        "etc",
        "vs",
        "jr",
        "ing",
        "lic",
        "gen",
        "col",
        "av",
        "mt",
        "p",
        "pp",
        "approx",
        "ca",
    }
)
# Paragraph split keeps the separators so the original layout can be rebuilt exactly.
_NEWLINES = re.compile(r"(\n+)")


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether the punctuation at `match` ends a sentence (not "Dr.", "John F.", "3.5", "e.g. this")."""
    following = text[match.end() : match.end() + 1]
    if following[:1].islower():
        return False
    if match.group().lstrip()[0] != ".":
        return True
    word = re.search(r"(\w+)$", text[: match.start()])
    return not (word and (len(word.group(1)) == 1 or word.group(1).lower() in ABBREVIATIONS))


def _sentences(paragraph: str) -> list[str]:
    out, start = [], 0
    for match in _BOUNDARY.finditer(paragraph):
        if _ends_sentence(paragraph, match):
            out.append(paragraph[start : match.end()])
            start = match.end()
    out.append(paragraph[start:])
    return out


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph, none longer than MAX_SEGMENT_CHARS."""
    pieces: list[str] = []
    for sentence in _sentences(paragraph.strip()):
        sentence = sentence.strip()
        while len(sentence) > MAX_SEGMENT_CHARS:
            cut = sentence.rfind(" ", 0, MAX_SEGMENT_CHARS)
            cut = cut if cut > 0 else MAX_SEGMENT_CHARS
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    return pieces


def segment(text: str) -> list[list[str] | str]:
    """`text` as a list of paragraphs (lists of sentences) and newline runs (kept as strings)."""
    parts: list[list[str] | str] = []
    for chunk in _NEWLINES.split(text):
        if not chunk:
            continue
        parts.append(chunk if chunk.startswith("\n") else split_sentences(chunk))
    return parts


def reassemble(parts: list[list[str] | str], translated: list[str], joiner: str = " ") -> str:
    """Rebuild a text from `segment` output, taking sentence translations in order from `translated`."""
    out: list[str] = []
    position = 0
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        out.append(joiner.join(translated[position : position + len(part)]))
        position += len(part)
    return "".join(out)
