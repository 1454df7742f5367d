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
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from sqlalchemy import func
from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.cases import transition
from casework.compliance.filters import InvalidFilter, parse_filters
from casework.compliance.summary import protect_table
from casework.datafiles import read_yaml
from casework.editing import CaseworkError, check_editable
from casework.models import Case, CaseEvent, CaseStatus, Category, Message, TriageFinding, Urgency, utcnow
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


# Apostrophes phones type in place of ' (U+2019, U+2018, U+02BC and the backtick).
_APOSTROPHES = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        # Urdu typed on an Arabic keyboard: yeh, kaf and heh as Urdu writes them.
        "\u064a": "\u06cc",
        "\u0643": "\u06a9",
        "\u0647": "\u06c1",
    }
)


def fold(text: str, strip_accents: bool = True) -> str:
    """Lower-case, NFKC, one apostrophe, and strip diacritics from Latin letters only (Indic vowel
    signs are letters)."""
    text = text.translate(_APOSTROPHES)
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
    # A * inside a phrase ends that word with any ending ("devuelve* el pasaporte").
    escaped = r"\s+".join(
        re.escape(word[:-1]) + r"\w*" if word.endswith("*") else re.escape(word) for word in body.split()
    )
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
class Term:
    text: str
    pattern: re.Pattern[str]
    accents: bool
    language: str


@dataclass(frozen=True)
class TermSet:
    """Named groups of terms (a category, an urgency level, a country…), each a compiled regex."""

    groups: dict[str, list[Term]]

    def matches(self, text: Folded, languages: frozenset[str] | None = None) -> dict[str, set[str]]:
        """Group → matching terms; only terms of `languages` (and language-neutral ones) if given."""
        found: dict[str, set[str]] = {}
        for name, terms in self.groups.items():
            hits = {
                term.text
                for term in terms
                if (languages is None or term.language in languages or term.language == "any")
                and term.pattern.search(text.accented if term.accents else text.plain)
            }
            if hits:
                found[name] = hits
        return found


def _terms(where: str, raw: Any, languages: set[str] | None) -> list[Term]:
    if isinstance(raw, Mapping):
        items: list[tuple[str, Any]] = list(raw.items())
    elif isinstance(raw, list):
        items = [("any", raw)]
    else:
        raise LexiconError(f"{where}: expected a list of terms or a mapping language → terms")
    out: list[Term] = []
    for language, terms in items:
        if languages is not None and language not in languages and language != "any":
            raise LexiconError(f"{where}.{language}: language not listed under 'languages'")
        if not isinstance(terms, list) or not terms:
            raise LexiconError(f"{where}.{language}: expected a non-empty list of terms")
        for term in terms:
            bare = term.strip().rstrip("*").strip() if isinstance(term, str) else ""
            if len(bare) < (1 if _UNSPACED.search(bare) else 2):
                raise LexiconError(f"{where}.{language}: bad term {term!r}")
            if any("*" in word.rstrip("*") for word in bare.split()):
                raise LexiconError(f"{where}.{language}: {term!r}: * is allowed only at the end of a word")
            accents = language in KEEP_ACCENTS
            out.append(Term(term, re.compile(_term_pattern(term, not accents)), accents, str(language)))
    return out


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (from Babel's CLDR data; numeric regions like 001 left out)."""
    return frozenset(str(code) for code in Locale("en").territories if len(str(code)) == 2 and str(code).isalpha())


@dataclass(frozen=True)
class UrgencyRule:
    """Indicators → urgency: matches when any of `any` is found, or at least `at_least` indicators."""

    name: str
    urgency: Urgency
    any: frozenset[str] = frozenset()
    at_least: int | None = None

    def matches(self, indicators: set[str]) -> bool:
        if self.any and self.any & indicators:
            return True
        if self.at_least is not None and len(indicators) >= self.at_least:
            return True
        return not self.any and self.at_least is None


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
    cancels: TermSet = field(default_factory=lambda: TermSet({}))
    indicator_names: dict[str, str] = field(default_factory=dict)  # name → what it means
    urgency_rules: tuple[UrgencyRule, ...] = ()
    covered: frozenset[str] = frozenset()  # languages with terms of their own


TERM_SECTIONS = ("categories", "indicators", "urgency", "sectors")


def parse_rules(data: Any) -> tuple[dict[str, str], tuple[UrgencyRule, ...]]:
    """Validate the indicator list and urgency rules; raise LexiconError naming the bad entry."""
    if not isinstance(data, Mapping):
        raise LexiconError("triage rules: must be a mapping with 'indicators' and 'urgency_rules'")
    names = data.get("indicators")
    if not isinstance(names, Mapping) or not names:
        raise LexiconError("triage rules: 'indicators' must map each indicator to what it means")
    rules: list[UrgencyRule] = []
    for index, raw in enumerate(data.get("urgency_rules") or []):
        where = f"urgency_rules[{index}]"
        if not isinstance(raw, Mapping):
            raise LexiconError(f"{where}: must be a mapping")
        try:
            urgency = Urgency(str(raw.get("urgency")))
        except ValueError:
            raise LexiconError(f"{where}: unknown urgency {raw.get('urgency')!r}") from None
        wanted = raw.get("any") or []
        unknown = [name for name in wanted if name not in names]
        if unknown:
            raise LexiconError(f"{where}: unknown indicator(s) {', '.join(map(str, unknown))}")
        at_least = raw.get("at_least")
        if at_least is not None and (not isinstance(at_least, int) or at_least < 1):
            raise LexiconError(f"{where}: at_least must be a positive integer")
        rules.append(UrgencyRule(str(raw.get("name") or where), urgency, frozenset(wanted), at_least))
    if not rules or rules[-1].any or rules[-1].at_least is not None:
        raise LexiconError("urgency_rules: the last rule must have no conditions (every case gets an urgency)")
    return {str(k): str(v) for k, v in names.items()}, tuple(rules)


def _merge_sections(
    data: Mapping[str, Any], language_files: Mapping[str, Any], langs: set[str]
) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The term sections of the main mapping and of every language file, as name → key → language → terms."""
    merged: dict[str, dict[str, Any]] = {name: {} for name in (*TERM_SECTIONS, "cancels")}
    for name in merged:
        raw = data.get(name)
        if raw is None:
            continue
        if not isinstance(raw, Mapping):
            raise LexiconError(f"'{name}' must be a mapping")
        for key, terms in raw.items():
            merged[name][str(key)] = dict(terms) if isinstance(terms, Mapping) else terms
    covered: set[str] = set()
    for language, sections in language_files.items():
        if language not in langs:
            raise LexiconError(f"triage/{language}.yaml: language not listed under 'languages'")
        if not isinstance(sections, Mapping):
            raise LexiconError(f"triage/{language}.yaml: must be a mapping of sections")
        unknown = sorted(set(sections) - set(merged))
        if unknown:
            raise LexiconError(f"triage/{language}.yaml: unknown section(s) {', '.join(unknown)}")
        for name, groups in sections.items():
            if name == "cancels":
                groups = {"cancels": groups} if groups else {}
            if not isinstance(groups, Mapping):
                raise LexiconError(f"triage/{language}.yaml: '{name}' must map names to lists of terms")
            for key, terms in groups.items():
                if terms:
                    target = merged[name].setdefault(str(key), {})
                    if not isinstance(target, dict):
                        raise LexiconError(f"{name}.{key}: a list for any language can't take {language} terms")
                    target[language] = terms
                    covered.add(language)
    return merged, covered


def parse_lexicon(data: Any, language_files: Mapping[str, Any] | None = None, rules: Any | None = None) -> Lexicon:
    """Validate and compile a lexicon: the main mapping, the per-language term files (language →
    mapping of sections) and the rules; raise LexiconError naming the first bad entry."""
    if not isinstance(data, Mapping):
        raise LexiconError("the lexicon must be a mapping")
    languages = data.get("languages")
    if not isinstance(languages, list) or "en" not in languages:
        raise LexiconError("'languages' must list the covered languages, English included")
    langs = set(languages)
    indicator_names, urgency_rules = parse_rules(rules) if rules is not None else ({}, ())
    merged, covered = _merge_sections(data, language_files or {}, langs)

    def section(name: str, allowed: Iterable[str] | None = None, required: bool = True) -> TermSet:
        raw = merged.get(name, data.get(name))
        if required and (not isinstance(raw, Mapping) or not raw):
            raise LexiconError(f"'{name}' must be a non-empty mapping")
        groups = {}
        for key, terms in (raw or {}).items():
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
        indicators=section("indicators", indicator_names or None),
        urgency=urgency,
        countries=countries,
        sectors=section("sectors"),
        employer_patterns=patterns("employer"),
        recruiter_patterns=patterns("recruiter"),
        languages=list(languages),
        cancels=section("cancels", required=False),
        indicator_names=indicator_names,
        urgency_rules=urgency_rules,
        covered=frozenset(covered),
    )


@lru_cache(maxsize=4)
def load_lexicon(path: str | Path = DEFAULT_LEXICON) -> Lexicon:
    """Load and compile the lexicon at `path`, with the term files and rules it names (cached per
    process); raises LexiconError."""
    main = read_yaml(path, LexiconError, "triage lexicon")
    folder = Path(path).parent
    files: dict[str, Any] = {}
    rules = None
    if isinstance(main, Mapping):
        if main.get("terms"):
            for language in main.get("languages") or []:
                file = folder / str(main["terms"]) / f"{language}.yaml"
                if file.exists():
                    files[str(language)] = read_yaml(file, LexiconError, f"triage terms {language}") or {}
        if main.get("rules"):
            rules = read_yaml(folder / str(main["rules"]), LexiconError, "triage rules")
    return parse_lexicon(main, files, rules)


@dataclass(frozen=True)
class Finding:
    """A danger indicator and the words that showed it, in the original or in its translation."""

    indicator: str
    phrase: str
    source: str  # "original" or "translation"


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
    findings: tuple[Finding, ...] = ()
    urgency_rule: str | None = None  # the rule (or "urgency words") that set the urgency
    needs_human_triage: bool = False  # nothing to go on, or a language triage can't read


# Below this share of the evidence (a three-way tie) a person should look.
LOW_CONFIDENCE = 0.25
_SENTENCE_END = re.compile(r"[.!?;\n\u0964\u0965\u06d4\u061f\u1362\u104b\u3002\uff01\uff1f]+")


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


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence of `text` around [start, end)."""
    before = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    after = _SENTENCE_END.search(text, end)
    return text[(before[-1] if before else 0) : (after.start() if after else len(text))]


def find_indicators(
    originals: list[str], lexicon: Lexicon, scopes: list[frozenset[str] | None] | None = None
) -> list[Finding]:
    """Each indicator's first matching phrase per text, unless its sentence cancels it (a past
    event now resolved, someone else's story: the `cancels` terms of each language).

    `scopes[i]` limits text i to the terms of those languages (None: every language's terms).
    """
    findings: list[Finding] = []
    for index, text in enumerate(originals):
        source = "original" if index == 0 else "translation"
        scope = scopes[index] if scopes else None
        folded = {False: fold(text), True: fold(text, strip_accents=False)}
        for indicator, terms in lexicon.indicators.groups.items():
            for term in terms:
                if scope is not None and term.language not in scope and term.language != "any":
                    continue
                haystack = folded[term.accents]
                match = term.pattern.search(haystack)
                if match is None:
                    continue
                sentence = Folded(
                    plain=_sentence(folded[False], *match.span()), accented=_sentence(haystack, *match.span())
                )
                if lexicon.cancels.matches(sentence, scope):
                    continue
                findings.append(Finding(indicator, match.group(0).strip(), source))
                break
    return findings


def _matches_in(terms: TermSet, parts: list[Folded], scopes: list[frozenset[str] | None]) -> dict[str, set[str]]:
    """Group → matching terms over several texts, each read with the terms of its scope."""
    out: dict[str, set[str]] = {}
    for part, scope in zip(parts, scopes, strict=True):
        for name, hits in terms.matches(part, scope).items():
            out.setdefault(name, set()).update(hits)
    return out


# Signs of danger now that are not forced-labour indicators: they raise urgency, not the
# forced-labour category (a beating with a death threat is violence, not forced labour).
IMMEDIATE_DANGER = frozenset({"injury", "medical_emergency", "threat_to_life", "child"})

# The category an indicator points to when no category term matched at all.
INDICATOR_CATEGORY = {
    "retention_of_identity_documents": Category.DOCUMENT_CONFISCATION,
    "withholding_of_wages": Category.WAGE_THEFT,
    "debt_bondage": Category.RECRUITMENT_FEES,
    "deception": Category.CONTRACT_SUBSTITUTION,
    "physical_sexual_violence": Category.HARASSMENT_VIOLENCE,
    "intimidation_threats": Category.HARASSMENT_VIOLENCE,
    "threat_to_life": Category.HARASSMENT_VIOLENCE,
    "injury": Category.UNSAFE_WORK,
    "medical_emergency": Category.UNSAFE_WORK,
    "restriction_of_movement": Category.FORCED_LABOUR,
    "isolation": Category.FORCED_LABOUR,
    "abusive_conditions": Category.HOUSING,
}


def triage_text(texts: Iterable[str | None], lexicon: Lexicon, *, language: str | None = None) -> TriageResult:
    """Triage from one or more texts (the original, then its translation), pooling the evidence.

    Confidence is the winning category's share of the matched evidence, n / (total + 1): one
    clear term gives 0.5, three agreeing terms 0.75, a tie between two categories 0.33, and
    no evidence at all 0.0 (category "other"). Urgency comes from the indicator rules
    (`triage_rules.yaml`), raised by urgency words. A result with nothing to go on, or for a
    language the lexicon has no terms for and no translation, says `needs_human_triage`.
    """
    given = list(texts)
    originals = [t for t in given if t and t.strip()]
    folded = Folded.of(originals)
    # The original is read with its own language's terms (and English, which workers mix in);
    # a translation, or a text in a language without terms, with every language's.
    own: frozenset[str] | None = frozenset({language, "en"}) if language in lexicon.covered else None
    parts = [Folded.of(originals[:1]), Folded.of(originals[1:])]
    scopes: list[frozenset[str] | None] = [own, None]
    found = _matches_in(lexicon.categories, parts, scopes)
    findings = tuple(find_indicators(originals, lexicon, [own] + [None] * (len(originals) - 1)))
    indicators = tuple(sorted({f.indicator for f in findings}))
    evidence = Counter({name: len(hits) for name, hits in found.items()})
    # Three ILO forced-labour indicators together, or restricted movement with another, are
    # forced labour whatever else is said; two (e.g. unpaid wages + a held passport) raise urgency only.
    confined = "restriction_of_movement" in indicators
    ilo = [indicator for indicator in indicators if indicator not in IMMEDIATE_DANGER]
    if len(ilo) >= 3 or (confined and len(ilo) >= 2):
        evidence[Category.FORCED_LABOUR.value] += len(ilo)
    if not evidence:
        for indicator in indicators:
            if indicator in INDICATOR_CATEGORY:
                evidence[INDICATOR_CATEGORY[indicator].value] += 1
    if evidence:
        ranked = sorted(evidence.items(), key=lambda item: (-item[1], item[0]))
        category, top = Category(ranked[0][0]), ranked[0][1]
        confidence = round(top / (sum(evidence.values()) + 1), 3)
    else:
        category, confidence = Category.OTHER, 0.0
    urgency, rule = Urgency.NORMAL, None
    for candidate in lexicon.urgency_rules:
        if candidate.matches(set(indicators)):
            urgency, rule = candidate.urgency, candidate.name
            break
    levels = _matches_in(lexicon.urgency, parts, scopes)
    if Urgency.CRITICAL.value in levels and urgency is not Urgency.CRITICAL:
        urgency, rule = Urgency.CRITICAL, "urgency words"
    elif Urgency.HIGH.value in levels and URGENCY_RANK[urgency] < URGENCY_RANK[Urgency.HIGH]:
        urgency, rule = Urgency.HIGH, "urgency words"
    elif category in (Category.FORCED_LABOUR, Category.HARASSMENT_VIOLENCE) and urgency is Urgency.NORMAL:
        urgency, rule = Urgency.HIGH, f"category {category.value}"
    has_translation = len(given) > 1 and bool(given[1] and given[1].strip())
    unreadable = language is not None and language not in lexicon.covered and not has_translation
    needs_human = not originals or category is Category.OTHER or confidence < LOW_CONFIDENCE or unreadable
    return TriageResult(
        category=category,
        confidence=confidence,
        urgency=urgency,
        country=_most_mentioned(lexicon.countries.matches(folded)),
        sector=_most_mentioned(_matches_in(lexicon.sectors, parts, scopes)),
        employer=_first_name(lexicon.employer_patterns, originals),
        recruiter=_first_name(lexicon.recruiter_patterns, originals),
        indicators=indicators,
        evidence=dict(evidence),
        findings=findings,
        urgency_rule=rule,
        needs_human_triage=needs_human,
    )


def _human_triaged(session: Session, case: Case) -> bool:
    statement = select(CaseEvent.id).where(CaseEvent.case_id == case.id, CaseEvent.action == "triage_overridden")
    return session.exec(statement.limit(1)).first() is not None


def apply_triage(
    session: Session, case: Case, message: Message, lexicon: Lexicon, now: datetime | None = None
) -> TriageResult:
    """Triage `message` into `case` (audited). A first triage sets everything; a follow-up only
    raises the urgency and fills what is still unknown, and never undoes a staff override."""
    result = triage_text([message.body, message.translation], lexicon, language=message.language)
    first = case.category is None
    human = not first and _human_triaged(session, case)
    changed: dict[str, Any] = {}
    if first or (case.category == Category.OTHER and result.category is not Category.OTHER and not human):
        changed["category"] = result.category.value
        case.category = result.category
        case.category_confidence = result.confidence
        if not human and case.needs_human_triage != result.needs_human_triage:
            case.needs_human_triage = result.needs_human_triage
            changed["needs_human_triage"] = result.needs_human_triage
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
    assert case.id is not None and message.id is not None
    for finding in result.findings:
        session.add(
            TriageFinding(
                case_id=case.id,
                message_id=message.id,
                indicator=finding.indicator,
                phrase=finding.phrase,
                source=finding.source,
            )
        )
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
        rule=result.urgency_rule,
        needs_human_triage=case.needs_human_triage,
        evidence=result.evidence,
        changed=sorted(changed),
        used_translation=bool(message.translation),
    )
    if case.status == CaseStatus.NEW:
        transition(session, case, CaseStatus.TRIAGED, reason="triaged", now=now)
    return result


OVERRIDABLE = ("category", "urgency", "country", "sector")


def confirm_triage(session: Session, case: Case, actor_id: int, *, expected_version: int | None = None) -> None:
    """A person agrees with triage as it stands: the case leaves the needs-human-triage queue (audited).
    A case triage has not run on yet has nothing to confirm (TriageError)."""
    check_editable(case, expected_version)
    if case.category is None:
        raise TriageError("nothing to confirm: triage has not run on this case yet")
    case.needs_human_triage = False
    case.updated_at = utcnow()
    session.add(case)
    record_event(
        session,
        action="triage_confirmed",
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff",
        category=case.category,
        urgency=case.urgency,
    )


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
    case.needs_human_triage = False  # a person has triaged it
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


# --- accuracy from live use: automatic triage against what staff made of it ---------------------

CONFUSION_FIELDS: dict[str, tuple[str, ...]] = {
    "category": tuple(c.value for c in Category),
    "urgency": tuple(u.value for u in Urgency),
}
UNKNOWN_LANGUAGE = "unknown"


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """`YYYY-MM..YYYY-MM` as [first instant of the first month, first instant after the last), UTC;
    raises TriageError naming what is wrong."""
    try:
        filters = parse_filters({"period": period})
    except InvalidFilter as exc:
        raise TriageError(str(exc)) from None
    if not filters.start or not filters.end:
        raise TriageError("period must be YYYY-MM..YYYY-MM")
    year, month = (int(part) for part in filters.end.split("-"))
    start_year, start_month = (int(part) for part in filters.start.split("-"))
    since = datetime(start_year, start_month, 1, tzinfo=UTC)
    until = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return since, until


def _matrix(pairs: list[tuple[str, str]], labels: tuple[str, ...], k: int) -> dict[str, Any]:
    """One confusion matrix (automatic → final) with cell suppression as in the public data."""
    counts = Counter(pairs)
    total = sum(counts.values())
    if 0 < total < k:  # nothing at all, not even which values occur
        return {"labels": [], "cells": {}, "total": None, "kept": None, "accuracy": None}
    seen = {value for pair in counts for value in pair}
    shown = [label for label in labels if label in seen]
    cells = {f"{a}\x00{b}": counts.get((a, b), 0) for a in shown for b in shown}
    protected = protect_table(cells, k, total)
    diagonal = [protected[f"{label}\x00{label}"] for label in shown]
    kept = None if None in diagonal else sum(v or 0 for v in diagonal)
    return {
        "labels": shown,
        "cells": {a: {b: protected[f"{a}\x00{b}"] for b in shown} for a in shown},
        "total": total,
        "kept": kept,
        "accuracy": None if kept is None or not total else round(kept / total, 3),
    }


def triage_confusion(
    session: Session, *, since: datetime | None = None, until: datetime | None = None, k: int = 5
) -> dict[str, Any]:
    """Automatic triage against what staff made of it, per language and overall.

    For each case first triaged in [since, until): the automatic value is its first "triaged"
    event's category and urgency; the final value is the `to` of the latest "triage_overridden"
    change of that field, or the automatic value where staff never changed it (kept). Each
    matrix (rows automatic, columns final, only values that occur) suppresses every cell of 1..k-1
    cases (None), and complementary cells so that none can be worked out from the total
    (`casework.compliance.summary.protect_table`). A group of 1..k-1 cases shows nothing (no
    total, no labels, no cells), and `kept` and `accuracy` are given only where every cell of the
    diagonal is shown. Zeros are shown.
    """
    first = (
        select(func.min(CaseEvent.id).label("id"))
        .where(CaseEvent.action == "triaged", col(CaseEvent.case_id).is_not(None))
        .group_by(col(CaseEvent.case_id))
        .subquery()
    )
    statement = (
        select(CaseEvent.case_id, CaseEvent.detail, Case.language)
        .join(first, first.c.id == CaseEvent.id)
        .join(Case, col(Case.id) == CaseEvent.case_id)
    )
    if since is not None:
        statement = statement.where(CaseEvent.created_at >= since)
    if until is not None:
        statement = statement.where(CaseEvent.created_at < until)
    automatic: dict[int, tuple[str, Mapping[str, Any]]] = {
        case_id: (language or UNKNOWN_LANGUAGE, detail or {})
        for case_id, detail, language in session.exec(statement).all()
        if case_id is not None
    }
    final: dict[int, dict[str, str]] = {}
    overrides = select(CaseEvent.case_id, CaseEvent.detail).where(CaseEvent.action == "triage_overridden")
    for case_id, detail in session.exec(overrides.order_by(col(CaseEvent.id))).all():
        if case_id not in automatic:
            continue
        for name, change in ((detail or {}).get("changes") or {}).items():
            if name in CONFUSION_FIELDS and isinstance(change, Mapping) and change.get("to"):
                final.setdefault(case_id, {})[name] = str(change["to"])
    groups: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for case_id, (language, detail) in automatic.items():
        for name, labels in CONFUSION_FIELDS.items():
            auto = detail.get(name)
            if auto is None or str(auto) not in labels:
                continue
            end = final.get(case_id, {}).get(name, str(auto))
            if end not in labels:
                continue
            pair = (str(auto), end)
            for key in (language, ""):
                groups.setdefault(key, {}).setdefault(name, []).append(pair)
    counts = Counter(language for language, _ in automatic.values())

    def table(key: str, cases: int) -> dict[str, Any]:
        pairs = groups.get(key, {})
        return {
            "cases": None if 0 < cases < k else cases,
            **{name: _matrix(pairs.get(name, []), labels, k) for name, labels in CONFUSION_FIELDS.items()},
        }

    ordered = sorted(counts, key=lambda code: (code == UNKNOWN_LANGUAGE, code))
    return {
        "k": k,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "overall": table("", len(automatic)),
        "languages": {code: table(code, counts[code]) for code in ordered},
    }
