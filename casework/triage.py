"""Triage: category, urgency, country of work, sector and named employer/recruiter, read from
a message's original text and its machine translation with a multilingual lexicon kept as
data (`casework/data/triage_lexicon.yaml`). Staff overrides are audited with what triage said,
so triage accuracy can be measured (`triage_accuracy`)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.cases import transition
from casework.datafiles import read_yaml
from casework.editing import CaseworkError, check_editable
from casework.models import Case, CaseEvent, CaseStatus, Category, Message, Urgency, utcnow
from casework.privacy import employer_key

DEFAULT_LEXICON = Path(__file__).with_name("data") / "triage_lexicon.yaml"
URGENCY_RANK = {Urgency.LOW: 0, Urgency.NORMAL: 1, Urgency.HIGH: 2, Urgency.CRITICAL: 3}
MAX_NAME = 120
# Scripts written without spaces between words: terms match as substrings there.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\u0e00-\u0e7f\u1000-\u109f]")


class LexiconError(ValueError):
    """The triage lexicon file is malformed; the message names the bad entry."""


class TriageError(CaseworkError):
    """A triage override is not valid."""


# Languages whose diacritics carry meaning ("nợ" debt vs. "no"): their terms match accents exactly.
KEEP_ACCENTS = frozenset({"vi"})


def fold(text: str, strip_accents: bool = True) -> str:
    """Lower-case, NFKC, and strip diacritics from Latin letters only (Indic vowel signs are letters)."""
    if not strip_accents:
        return unicodedata.normalize("NFKC", text.casefold())
    out: list[str] = []
    for char in unicodedata.normalize("NFKD", text.casefold()):
        if unicodedata.combining(char) and out and out[-1] < "\u0250":
            continue
        out.append(char)
    return unicodedata.normalize("NFKC", "".join(out))


def _term_pattern(term: str, strip_accents: bool) -> str:
    folded = fold(term.strip(), strip_accents)
    prefix = folded.endswith("*")
    body = folded.rstrip("*").strip()
    escaped = r"\s+".join(re.escape(word) for word in body.split())
    if _UNSPACED.search(body):
        return escaped
    return rf"(?<!\w){escaped}" + (r"\w*" if prefix else r"(?!\w)")


@dataclass(frozen=True)
class Folded:
    """A text folded twice: without diacritics (most languages) and with them (KEEP_ACCENTS)."""

    plain: str
    accented: str

    @classmethod
    def of(cls, texts: Iterable[str]) -> Folded:
        joined = " \n ".join(texts)
        return cls(plain=fold(joined), accented=fold(joined, strip_accents=False))


@dataclass(frozen=True)
class TermSet:
    """Named groups of terms (a category, an urgency level, a country…), each a compiled regex."""

    groups: dict[str, list[tuple[str, re.Pattern[str], bool]]]

    def matches(self, text: Folded) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for name, terms in self.groups.items():
            hits = {
                term for term, pattern, accents in terms if pattern.search(text.accented if accents else text.plain)
            }
            if hits:
                found[name] = hits
        return found


def _terms(where: str, raw: Any, languages: set[str] | None) -> list[tuple[str, re.Pattern[str], bool]]:
    if isinstance(raw, Mapping):
        items: list[tuple[str, Any]] = list(raw.items())
    elif isinstance(raw, list):
        items = [("any", raw)]
    else:
        raise LexiconError(f"{where}: expected a list of terms or a mapping language → terms")
    out: list[tuple[str, re.Pattern[str], bool]] = []
    for language, terms in items:
        if languages is not None and language not in languages and language != "any":
            raise LexiconError(f"{where}.{language}: language not listed under 'languages'")
        if not isinstance(terms, list) or not terms:
            raise LexiconError(f"{where}.{language}: expected a non-empty list of terms")
        for term in terms:
            bare = term.strip().rstrip("*").strip() if isinstance(term, str) else ""
            if len(bare) < (1 if _UNSPACED.search(bare) else 2):
                raise LexiconError(f"{where}.{language}: bad term {term!r}")
            accents = language in KEEP_ACCENTS
            out.append((term, re.compile(_term_pattern(term, not accents)), accents))
    return out


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (from Babel's CLDR data; numeric regions like 001 left out)."""
    return frozenset(str(code) for code in Locale("en").territories if len(str(code)) == 2 and str(code).isalpha())


@dataclass(frozen=True)
class Lexicon:
    categories: TermSet
    indicators: TermSet
    urgency: TermSet
    countries: TermSet
    sectors: TermSet
    employer_patterns: list[re.Pattern[str]]
    recruiter_patterns: list[re.Pattern[str]]
    languages: list[str] = field(default_factory=list)


def parse_lexicon(data: Any) -> Lexicon:
    """Validate and compile a lexicon mapping; raise LexiconError naming the first bad entry."""
    if not isinstance(data, Mapping):
        raise LexiconError("the lexicon must be a mapping")
    languages = data.get("languages")
    if not isinstance(languages, list) or "en" not in languages:
        raise LexiconError("'languages' must list the covered languages, English included")
    langs = set(languages)

    def section(name: str, allowed: Iterable[str] | None = None) -> TermSet:
        raw = data.get(name)
        if not isinstance(raw, Mapping) or not raw:
            raise LexiconError(f"'{name}' must be a non-empty mapping")
        groups = {}
        for key, terms in raw.items():
            if allowed is not None and key not in allowed:
                raise LexiconError(f"{name}.{key}: unknown; expected one of {', '.join(sorted(allowed))}")
            groups[str(key)] = _terms(f"{name}.{key}", terms, None if name == "countries" else langs)
        return TermSet(groups)

    territories = country_codes()
    categories = section("categories", {c.value for c in Category if c is not Category.OTHER})
    urgency = section("urgency", {Urgency.CRITICAL.value, Urgency.HIGH.value})
    countries = section("countries", territories)
    mentions = data.get("mentions")
    if not isinstance(mentions, Mapping):
        raise LexiconError("'mentions' must map employer/recruiter to lists of patterns")

    def patterns(kind: str) -> list[re.Pattern[str]]:
        compiled = []
        for index, raw in enumerate(mentions.get(kind) or []):
            try:
                pattern = re.compile(raw)
            except (re.error, TypeError) as exc:
                raise LexiconError(f"mentions.{kind}[{index}]: not a valid regular expression ({exc})") from None
            if "name" not in pattern.groupindex:
                raise LexiconError(f"mentions.{kind}[{index}]: needs a (?P<name>…) group")
            compiled.append(pattern)
        return compiled

    return Lexicon(
        categories=categories,
        indicators=section("indicators"),
        urgency=urgency,
        countries=countries,
        sectors=section("sectors"),
        employer_patterns=patterns("employer"),
        recruiter_patterns=patterns("recruiter"),
        languages=list(languages),
    )


@lru_cache(maxsize=4)
def load_lexicon(path: str | Path = DEFAULT_LEXICON) -> Lexicon:
    """Load and compile the lexicon at `path` (cached per process); raises LexiconError."""
    return parse_lexicon(read_yaml(path, LexiconError, "triage lexicon"))


@dataclass(frozen=True)
class TriageResult:
    category: Category
    confidence: float
    urgency: Urgency
    country: str | None
    sector: str | None
    employer: str | None
    recruiter: str | None
    indicators: tuple[str, ...]
    evidence: dict[str, int]  # category → number of distinct matching terms (no text)


def _first_name(patterns: list[re.Pattern[str]], texts: Iterable[str]) -> str | None:
    for text in texts:
        for pattern in patterns:
            match = pattern.search(text)
            if match:
                name = " ".join(match.group("name").split()).strip(" .,;:")
                if 2 <= len(name) <= MAX_NAME:
                    return name
    return None


def _most_mentioned(found: dict[str, set[str]]) -> str | None:
    if not found:
        return None
    return max(sorted(found), key=lambda key: len(found[key]))


def triage_text(texts: Iterable[str | None], lexicon: Lexicon) -> TriageResult:
    """Triage from one or more texts (the original and its translation), pooling the evidence.

    Confidence is the winning category's share of the matched evidence, n / (total + 1): one
    clear term gives 0.5, three agreeing terms 0.75, a tie between two categories 0.33, and
    no evidence at all 0.0 (category "other").
    """
    originals = [t for t in texts if t and t.strip()]
    folded = Folded.of(originals)
    found = lexicon.categories.matches(folded)
    indicators = tuple(sorted(lexicon.indicators.matches(folded)))
    evidence = Counter({name: len(hits) for name, hits in found.items()})
    # Three ILO forced-labour indicators together, or confinement with another, are forced
    # labour whatever else is said; two (e.g. unpaid wages + a held passport) raise urgency only.
    if len(indicators) >= 3 or ("confinement" in indicators and len(indicators) >= 2):
        evidence[Category.FORCED_LABOUR.value] += len(indicators)
    if evidence:
        ranked = sorted(evidence.items(), key=lambda item: (-item[1], item[0]))
        category, top = Category(ranked[0][0]), ranked[0][1]
        confidence = round(top / (sum(evidence.values()) + 1), 3)
    else:
        category, confidence = Category.OTHER, 0.0
    levels = lexicon.urgency.matches(folded)
    if (
        Urgency.CRITICAL.value in levels
        or len(indicators) >= 3
        or ("confinement" in indicators and len(indicators) >= 2)
    ):
        urgency = Urgency.CRITICAL
    elif (
        Urgency.HIGH.value in levels
        or len(indicators) >= 2
        or category in (Category.FORCED_LABOUR, Category.HARASSMENT_VIOLENCE)
    ):
        urgency = Urgency.HIGH
    else:
        urgency = Urgency.NORMAL
    return TriageResult(
        category=category,
        confidence=confidence,
        urgency=urgency,
        country=_most_mentioned(lexicon.countries.matches(folded)),
        sector=_most_mentioned(lexicon.sectors.matches(folded)),
        employer=_first_name(lexicon.employer_patterns, originals),
        recruiter=_first_name(lexicon.recruiter_patterns, originals),
        indicators=indicators,
        evidence=dict(evidence),
    )


def _human_triaged(session: Session, case: Case) -> bool:
    statement = select(CaseEvent.id).where(CaseEvent.case_id == case.id, CaseEvent.action == "triage_overridden")
    return session.exec(statement.limit(1)).first() is not None


def apply_triage(
    session: Session, case: Case, message: Message, lexicon: Lexicon, now: datetime | None = None
) -> TriageResult:
    """Triage `message` into `case` (audited). A first triage sets everything; a follow-up only
    raises the urgency and fills what is still unknown, and never undoes a staff override."""
    result = triage_text([message.body, message.translation], lexicon)
    first = case.category is None
    changed: dict[str, Any] = {}
    if first or (
        case.category == Category.OTHER and result.category is not Category.OTHER and not _human_triaged(session, case)
    ):
        changed["category"] = result.category.value
        case.category = result.category
        case.category_confidence = result.confidence
    if first or URGENCY_RANK[result.urgency] > URGENCY_RANK[Urgency(case.urgency)]:
        changed["urgency"] = result.urgency.value
        case.urgency = result.urgency
    for name, value in (("country", result.country), ("sector", result.sector)):
        if value and not getattr(case, name):
            setattr(case, name, value)
            changed[name] = value
    if result.employer and not case.employer_name:
        case.employer_name = result.employer  # encrypted at rest
        changed["employer_named"] = True
    if case.employer_name and not case.employer_pseudonym:
        # The keyed hash compliance counts employers by; the same key as a name typed on the web form.
        case.employer_pseudonym = employer_key(case.employer_name)
        changed["employer_pseudonym"] = True
    if result.recruiter and not case.recruiter_name:
        case.recruiter_name = result.recruiter
        changed["recruiter_named"] = True
    if message.needs_human_translation and not case.needs_human_translation:
        case.needs_human_translation = True
        changed["needs_human_translation"] = True
    if changed:  # an unchanged case keeps its version, so nobody's open edit turns stale for nothing
        case.updated_at = now or utcnow()
        session.add(case)
    record_event(
        session,
        action="triaged",
        case_id=case.id,
        message_id=message.id,
        first=first,
        category=case.category,
        confidence=case.category_confidence,
        urgency=case.urgency,
        indicators=list(result.indicators),
        evidence=result.evidence,
        changed=sorted(changed),
        used_translation=bool(message.translation),
    )
    if case.status == CaseStatus.NEW:
        transition(session, case, CaseStatus.TRIAGED, reason="triaged", now=now)
    return result


OVERRIDABLE = ("category", "urgency", "country", "sector")


def override_triage(
    session: Session,
    case: Case,
    actor_id: int,
    *,
    category: str | None = None,
    urgency: str | None = None,
    country: str | None = None,
    sector: str | None = None,
    expected_version: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Correct triage by hand. Each changed field is audited with from/to and the original
    confidence, so accuracy can be measured. Returns {field: {"from", "to"}}; raises TriageError."""
    check_editable(case, expected_version)
    wanted: dict[str, Any] = {}
    try:
        if category is not None:
            wanted["category"] = Category(category)
        if urgency is not None:
            wanted["urgency"] = Urgency(urgency)
    except ValueError as exc:
        raise TriageError(str(exc)) from None
    if country is not None:
        code = country.strip().upper()
        if code and code not in country_codes():
            raise TriageError(f"country must be an ISO 3166-1 alpha-2 code such as SA or MY; got {country!r}")
        wanted["country"] = code or None
    if sector is not None:
        code = sector.strip().lower()
        if code and not re.fullmatch(r"[a-z_]{2,32}", code):
            raise TriageError(f"sector must be a short code such as domestic_work; got {sector!r}")
        wanted["sector"] = code or None
    if not wanted:
        raise TriageError("nothing to change: give category, urgency, country or sector")
    changes = {
        name: {"from": getattr(case, name), "to": value}
        for name, value in wanted.items()
        if getattr(case, name) != value
    }
    if not changes:
        return {}
    original_confidence = case.category_confidence
    for name, change in changes.items():
        setattr(case, name, change["to"])
    if "category" in changes:
        case.category_confidence = 1.0  # a person decided
    case.updated_at = utcnow()
    session.add(case)
    record_event(
        session,
        action="triage_overridden",
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff",
        changes={
            k: {"from": None if v["from"] is None else str(v["from"]), "to": None if v["to"] is None else str(v["to"])}
            for k, v in changes.items()
        },
        original_confidence=original_confidence,
    )
    return changes


def triage_accuracy(session: Session) -> dict[str, Any]:
    """How often staff kept triage's category: cases triaged vs. category overrides."""
    triaged = session.exec(
        select(CaseEvent.case_id).where(CaseEvent.action == "triaged", CaseEvent.detail["first"].as_boolean())
    ).all()
    overrides = session.exec(
        select(CaseEvent).where(CaseEvent.action == "triage_overridden").order_by(col(CaseEvent.id))
    ).all()
    corrected = {e.case_id for e in overrides if "category" in e.detail.get("changes", {})}
    total = len(set(triaged))
    return {
        "triaged": total,
        "category_corrected": len(corrected),
        "category_accuracy": None if total == 0 else round(1 - len(corrected) / total, 3),
    }
