"""Language identification for short, noisy texts (SMS, WhatsApp, web form), fully offline.

Two layers, chosen by measurement (`bench/langid.py`): the Unicode script decides outright where
only one of our languages uses it (Ethiopic → am, Myanmar → my, Bengali → bn, Han → zh), and
py3langid's naive-Bayes model, restricted to the languages that share the script, decides the
rest (hi/ne, ar/ur, ru/uk, and the eight Latin-script languages). py3langid has no Burmese
model, so the script rule is what covers it. Text without letters (empty, emoji, numbers) is
"und" with confidence 0, and a low-confidence guess falls back to the reporter's known language.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

from casework.texts import SUPPORTED_LANGUAGES

UNDETERMINED = "und"
# Below this probability a guess is not trusted: the caller's fallback wins. Picked on the
# labelled SMS set (bench/data/sms_langid.tsv): wrong guesses there cluster under it.
RELIABLE_CONFIDENCE = 0.70
# Only the head of a long text is read: a 10 000-character paste says no more about its
# language than its first 1 000 characters, and costs ten times as much to score.
MAX_CHARS = 1000
# A second script holding at least this share of the letters makes the text "mixed".
MIXED_SCRIPT_SHARE = 0.25

# Script → the languages among ours written in it (a single one means the script decides).
SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "latin": ("en", "es", "fr", "pt", "tl", "id", "vi", "sw"),
    "arabic": ("ar", "ur"),
    "devanagari": ("hi", "ne"),
    "cyrillic": ("ru", "uk"),
    "bengali": ("bn",),
    "myanmar": ("my",),
    "ethiopic": ("am",),
    "han": ("zh",),
}
# (first, last code point, script); ranges from the Unicode block chart.
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "latin"),
    (0x1E00, 0x1EFF, "latin"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x08A0, 0x08FF, "arabic"),
    (0xFB50, 0xFDFF, "arabic"),
    (0xFE70, 0xFEFF, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0980, 0x09FF, "bengali"),
    (0x1000, 0x109F, "myanmar"),
    (0xA9E0, 0xA9FF, "myanmar"),
    (0xAA60, 0xAA7F, "myanmar"),
    (0x1200, 0x139F, "ethiopic"),
    (0x2D80, 0x2DDF, "ethiopic"),
    (0x3400, 0x4DBF, "han"),
    (0x4E00, 0x9FFF, "han"),
    (0xF900, 0xFAFF, "han"),
)


@dataclass(frozen=True)
class Detection:
    """A detected language: ISO 639-1 `code` (or "und"), probability, and whether to trust it.

    `method` says how it was decided: "script", "model", "fallback" (the guess was too weak,
    the caller's known language was used), "none" (no letters at all) or "other-script"
    (letters of a script none of our languages uses). `guess` keeps the
    detector's own answer when a fallback replaced it.
    """

    code: str
    confidence: float
    reliable: bool
    method: str = "model"
    mixed_script: bool = False
    guess: str | None = None


def script_of(char: str) -> str | None:
    """The script of one character among those our languages use, else None."""
    point = ord(char)
    for first, last, script in _SCRIPT_RANGES:
        if first <= point <= last:
            return script if char.isalpha() or unicodedata.category(char).startswith("M") else None
    return None


def script_counts(text: str) -> Counter[str]:
    return Counter(s for s in map(script_of, text) if s is not None)


@cache
def _identifier() -> Any:
    """py3langid restricted to our languages it knows (loaded once per process, ~0.7 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    known = set(identifier.labels)
    identifier.set_languages([code for code in SUPPORTED_LANGUAGES if code in known])
    return identifier


def preload() -> None:
    """Load the model now (before a worker forks) instead of on the first message."""
    _identifier()


def _rank_within(text: str, candidates: tuple[str, ...]) -> tuple[str, float]:
    """Best of `candidates` by py3langid, with its probability renormalized over them."""
    scores = {code: p for code, p in _identifier().rank(text) if code in candidates}
    total = sum(scores.values())
    if not scores or total <= 0:
        return candidates[0], 1.0 / len(candidates)
    code = max(scores, key=scores.__getitem__)
    return code, scores[code] / total


def detect_language(text: str | None, fallback: str | None = None) -> Detection:
    """Detect the language of `text`; when unsure, answer `fallback` (the reporter's language).

    Never raises on any string. An unknown or unsupported `fallback` is ignored.
    """
    fallback = fallback if fallback in SUPPORTED_LANGUAGES else None
    head = (text or "")[:MAX_CHARS]
    counts = script_counts(head)
    letters = sum(counts.values())
    if letters == 0 and any(ch.isalpha() for ch in head):
        # Letters, but in a script none of our languages uses (Thai, Hangul…): not ours, whatever
        # the reporter's usual language is.
        return Detection(UNDETERMINED, 0.0, False, method="other-script")
    if letters == 0:
        if fallback:
            return Detection(fallback, 0.0, False, method="fallback")
        return Detection(UNDETERMINED, 0.0, False, method="none")
    script, count = counts.most_common(1)[0]
    share = count / letters
    mixed = share < 1 - MIXED_SCRIPT_SHARE
    candidates = SCRIPT_LANGUAGES[script]
    if len(candidates) == 1:
        code, confidence, method = candidates[0], 1.0, "script"
    else:
        only_script = "".join(ch for ch in head if script_of(ch) in (script, None))
        code, confidence = _rank_within(only_script, candidates)
        method = "model"
    # Letters in another script are evidence the guess covers only part of the text.
    confidence = round(confidence * share, 4)
    # A script decides only with enough letters: two Han characters are still Chinese, but
    # one Bengali letter among emoji is too little to act on.
    reliable = confidence >= RELIABLE_CONFIDENCE and (method == "model" or count >= 2)
    if not reliable and fallback:
        # The confidence belongs to the guess; the fallback was assumed, not detected.
        assumed = confidence if code == fallback else 0.0
        return Detection(fallback, assumed, False, method="fallback", mixed_script=mixed, guess=code)
    return Detection(code, confidence, reliable, method=method, mixed_script=mixed)
