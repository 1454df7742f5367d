"""Why triage decided, in words staff can check: the indicators it found and the words that
showed them (marked in the message text), the urgency rule that decided, and each triage
audit event said plainly. Text only: the console renders it with its own escaping."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from casework.models import Case, CaseEvent, TriageFinding
from casework.triage import _UNSPACED, Lexicon, fold

# --- marking the matched words in a message ----------------------------------------------------


@dataclass(frozen=True)
class Marked:
    """A text cut into (piece, matched) segments, and the phrases that could not be found in it."""

    segments: tuple[tuple[str, bool], ...]
    missing: tuple[str, ...] = ()

    @property
    def found_any(self) -> bool:
        return any(hit for _, hit in self.segments)


def _folded_with_origin(text: str, strip_accents: bool) -> tuple[str, list[int]]:
    """`fold(text)` built one character at a time, with the index in `text` of each folded character."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = fold(char, strip_accents)
        accent = bool(folded) and all(unicodedata.combining(c) for c in folded)
        if strip_accents and accent and out and out[-1] and out[-1][-1] < "\u0250":
            continue  # a decomposed accent on a Latin letter: fold() drops it after the letter
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


def _phrase_pattern(phrase: str) -> re.Pattern[str] | None:
    words = phrase.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(word) for word in words)
    if _UNSPACED.search(phrase):
        return re.compile(body)
    return re.compile(rf"(?<!\w){body}(?!\w)")


def mark_phrases(text: str | None, phrases: Iterable[str | None]) -> Marked:
    """Cut `text` around every occurrence of each phrase, found case-insensitively (and, as
    triage compares Latin letters, without regard to accents); a phrase that is not in the text
    (a translation corrected since, a phrase from another text) is listed in `missing`."""
    source = text or ""
    spans: list[tuple[int, int]] = []
    missing: list[str] = []
    haystacks = [_folded_with_origin(source, True), _folded_with_origin(source, False)]
    for phrase in dict.fromkeys(p.strip() for p in phrases if p and p.strip()):
        found = False
        for strip_accents, (haystack, origin) in zip((True, False), haystacks, strict=True):
            pattern = _phrase_pattern(fold(phrase, strip_accents))
            if pattern is None:
                continue
            for match in pattern.finditer(haystack):
                if match.end() > match.start():
                    spans.append((origin[match.start()], origin[match.end() - 1] + 1))
                    found = True
            if found:
                break
        if not found:
            missing.append(phrase)
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    segments: list[tuple[str, bool]] = []
    position = 0
    for start, end in merged:
        if start > position:
            segments.append((source[position:start], False))
        segments.append((source[start:end], True))
        position = end
    if position < len(source) or not segments:
        segments.append((source[position:], False))
    return Marked(tuple(segments), tuple(missing))


# --- indicators and rules in words -------------------------------------------------------------


def indicator_label(name: str, lexicon: Lexicon, *, short: bool = False) -> str:
    """What an indicator means (`triage_rules.yaml`); `short` leaves out the examples in brackets."""
    meaning = lexicon.indicator_names.get(name)
    if not meaning:
        return name.replace("_", " ")
    return meaning.split(" (", 1)[0].strip() if short else meaning


def _value(raw: Any) -> str:
    return str(raw).replace("_", " ") if raw not in (None, "") else "none"


def describe_rule(name: str | None, lexicon: Lexicon) -> str:
    """An urgency rule in words: what it asks for and the urgency it gives."""
    if not name:
        return "no urgency rule was recorded"
    if name == "urgency words":
        return "words of urgency in the message (such as “emergency” or “help me”) raised it"
    if name.startswith("category "):
        return f"a {_value(name.removeprefix('category '))} case is at least high urgency"
    for rule in lexicon.urgency_rules:
        if rule.name != name:
            continue
        if rule.any:
            names = [indicator_label(n, lexicon, short=True).split(": ", 1)[-1] for n in sorted(rule.any)]
            return f"“{name}”: {rule.urgency.value} when any of these is found: {', '.join(names)}"
        if rule.at_least is not None:
            return f"“{name}”: {rule.urgency.value} when at least {rule.at_least} danger indicators are found"
        return f"“{name}”: {rule.urgency.value} when no other rule applies"
    return f"“{name}” (a rule no longer in the rules file)"


def _indicators_in_words(names: Sequence[str], lexicon: Lexicon) -> str:
    if not names:
        return "no danger indicator found"
    return "indicators found: " + "; ".join(indicator_label(n, lexicon, short=True) for n in names)


_CHANGED_WORDS = {
    "country": "country of work",
    "sector": "sector",
    "employer_named": "employer named",
    "recruiter_named": "recruiter named",
    "needs_human_translation": "flagged for a human translator",
}


def describe_event(event: CaseEvent, lexicon: Lexicon) -> str:
    """A triage audit event (triaged, triage_overridden, triage_confirmed) in words: what changed
    and why. Other events: an empty string."""
    detail: Mapping[str, Any] = event.detail or {}
    if event.action == "triaged":
        first = bool(detail.get("first"))
        changed = set(detail.get("changed") or [])
        what: list[str] = []
        if "category" in changed:
            confidence = detail.get("confidence")
            shown = f" (confidence {confidence * 100:.0f}%)" if isinstance(confidence, int | float) else ""
            what.append(f"category set to {_value(detail.get('category'))}{shown}")
        if "urgency" in changed:
            what.append(f"urgency {'set' if first else 'raised'} to {_value(detail.get('urgency'))}")
        what += [words for key, words in _CHANGED_WORDS.items() if key in changed]
        if "needs_human_triage" in changed:
            what.append("needs human triage" if detail.get("needs_human_triage") else "no longer needs human triage")
        head = "first triage" if first else "follow-up message"
        text = f"{head}: {', '.join(what) if what else 'nothing changed'}"
        if "rule" in detail or "indicators" in detail:
            rule = describe_rule(detail.get("rule"), lexicon)
            text += f". Why: {_indicators_in_words(list(detail.get('indicators') or []), lexicon)}; urgency rule {rule}"
        if first and detail.get("needs_human_triage"):
            text += ". Triage had too little to go on (or can't read the language): a person must triage it"
        if detail.get("used_translation"):
            text += " (read with its translation)"
        return text + "."
    if event.action == "triage_overridden":
        changes: Mapping[str, Any] = detail.get("changes") or {}
        parts = [
            f"{name.replace('_', ' ')} {_value(change.get('from'))} → {_value(change.get('to'))}"
            for name, change in sorted(changes.items())
            if isinstance(change, Mapping)
        ]
        return ("; ".join(parts) if parts else "nothing changed") + "."
    if event.action == "triage_confirmed":
        return (
            f"a person checked triage and kept it: category {_value(detail.get('category'))}, "
            f"urgency {_value(detail.get('urgency'))}."
        )
    return ""


# --- a case's triage, explained ----------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorFound:
    """One indicator found on the case, what it means, and each (message id, source, phrase) that showed it."""

    indicator: str
    label: str
    evidence: tuple[tuple[int, str, str | None], ...]


@dataclass(frozen=True)
class TriageExplanation:
    """What the console's "Why triage decided" shows."""

    triaged: bool
    needs_human_triage: bool
    urgency: str
    rule: str | None  # the rule that decided the urgency in force (None: staff set it, or untriaged)
    rule_text: str | None
    urgency_set_by: int | None  # the staff member whose correction set the urgency in force
    urgency_set_at: datetime | None
    category_set_by: int | None
    confirmed_by: int | None
    confirmed_at: datetime | None
    indicators: tuple[IndicatorFound, ...]
    findings: Mapping[int, tuple[TriageFinding, ...]] = field(default_factory=dict)  # message id → findings

    def phrases(self, message_id: int | None, source: str) -> list[str | None]:
        return [f.phrase for f in self.findings.get(message_id or 0, ()) if f.source == source]


def case_findings(session: Session, case: Case) -> list[TriageFinding]:
    """Every indicator triage found on `case`, in the order found."""
    statement = select(TriageFinding).where(TriageFinding.case_id == case.id).order_by(col(TriageFinding.id))
    return list(session.exec(statement).all())


def explain_triage(
    case: Case, events: Iterable[CaseEvent], findings: Iterable[TriageFinding], lexicon: Lexicon
) -> TriageExplanation:
    """Why the case has the urgency it has: the last event that set it (a triage, by its rule, or a
    staff correction), the indicators found (with the words), and any confirmation."""
    rule: str | None = None
    urgency_by: int | None = None
    urgency_at: datetime | None = None
    category_by: int | None = None
    confirmed_by: int | None = None
    confirmed_at: datetime | None = None
    triaged = False
    for event in sorted(events, key=lambda e: (e.created_at, e.id or 0)):
        detail = event.detail or {}
        if event.action == "triaged":
            triaged = True
            if detail.get("first") or "urgency" in (detail.get("changed") or []):
                rule, urgency_by, urgency_at = detail.get("rule"), None, event.created_at
        elif event.action == "triage_overridden":
            changes = detail.get("changes") or {}
            if "urgency" in changes:
                rule, urgency_by, urgency_at = None, event.actor_id, event.created_at
            if "category" in changes:
                category_by = event.actor_id
        elif event.action == "triage_confirmed":
            confirmed_by, confirmed_at = event.actor_id, event.created_at
    by_message: dict[int, list[TriageFinding]] = {}
    by_indicator: dict[str, list[tuple[int, str, str | None]]] = {}
    for finding in findings:
        by_message.setdefault(finding.message_id, []).append(finding)
        by_indicator.setdefault(finding.indicator, []).append((finding.message_id, finding.source, finding.phrase))
    return TriageExplanation(
        triaged=triaged or case.category is not None,
        needs_human_triage=case.needs_human_triage,
        urgency=str(case.urgency),
        rule=rule,
        rule_text=describe_rule(rule, lexicon) if triaged and urgency_by is None else None,
        urgency_set_by=urgency_by,
        urgency_set_at=urgency_at,
        category_set_by=category_by,
        confirmed_by=confirmed_by,
        confirmed_at=confirmed_at,
        indicators=tuple(
            IndicatorFound(name, indicator_label(name, lexicon), tuple(evidence))
            for name, evidence in by_indicator.items()
        ),
        findings={key: tuple(value) for key, value in by_message.items()},
    )
