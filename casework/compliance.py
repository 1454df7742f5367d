"""Anonymized compliance reporting: one `ComplianceRecord` per closed case, the k-anonymous
public release built from those records, and the aggregates and review indicators on top.

Privacy design (see README, "Threat model"): records hold only generalized codes. Nothing
public is computed from the records directly; every public output (summary, dashboard,
record-level open data, export) is computed from `release()`, in which every published row
pattern occurs at least k times, so any count over any filter combination is 0 or >= k.
Tables then get cell suppression with complementary suppression as a second guard.
This module imports neither Flask nor app code and never commits.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Text, cast, func, literal, null, union_all
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from casework.models import Case, ComplianceRecord, EmployerDisclosure, Outcome, utcnow
from casework.privacy import employer_key, lookup_hash
from casework.texts import N_

DEFAULT_K = 5
REVIEW_TARGETS_PATH = Path(__file__).resolve().parent / "data" / "review_targets.yaml"

# Languages grouped by region, so a rare language can't single out a reporter.
LANGUAGE_GROUPS: dict[str, str] = {
    "hi": "south_asian",
    "bn": "south_asian",
    "ne": "south_asian",
    "ur": "south_asian",
    "tl": "southeast_asian",
    "id": "southeast_asian",
    "vi": "southeast_asian",
    "my": "southeast_asian",
    "ar": "arabic",
    "am": "east_african",
    "sw": "east_african",
    "zh": "east_asian",
    "ru": "eastern_european",
    "uk": "eastern_european",
    "en": "western_european",
    "es": "western_european",
    "fr": "western_european",
    "pt": "western_european",
}

# (upper bound exclusive, label); the last band is open-ended.
AMOUNT_BANDS: list[tuple[Decimal | None, str]] = [
    (Decimal(100), "under_100"),
    (Decimal(1000), "100_999"),
    (Decimal(10000), "1000_9999"),
    (Decimal(100000), "10000_99999"),
    (None, "100000_plus"),
]
FIRST_RESPONSE_BANDS: list[tuple[int | None, str]] = [(1, "0"), (3, "1_2"), (8, "3_7"), (31, "8_30"), (None, "31_plus")]
REMEDY_BANDS: list[tuple[int | None, str]] = [
    (30, "0_29"),
    (90, "30_89"),
    (180, "90_179"),
    (365, "180_364"),
    (None, "365_plus"),
]
CASE_AGE_BANDS: list[tuple[int | None, str]] = [
    (7, "0_6"),
    (30, "7_29"),
    (90, "30_89"),
    (180, "90_179"),
    (None, "180_plus"),
]
REMEDIED_OUTCOMES = frozenset({"remedied", "partially_remedied"})

# Columns of the public release, in order. `employer` is a pseudonym, or a public name for
# an employer an admin disclosed (see `EmployerDisclosure`).
PUBLIC_COLUMNS: tuple[str, ...] = (
    "closed_month",
    "category",
    "urgency",
    "route",
    "channel",
    "language_group",
    "country",
    "sector",
    "resolution_type",
    "remedies",
    "amount_band",
    "currency",
    "days_to_first_response_band",
    "days_to_remedy_band",
    "case_age_band",
    "inspection_requested",
    "sanction_reported",
    "employer",
)
# Generalization levels, each a subset of the one before. A record is released at the first
# level at which its row pattern is shared by >= k records; columns not in that level are
# published as null ("not published"); records left after the last level are withheld.
LEVELS: tuple[tuple[str, ...], ...] = (
    PUBLIC_COLUMNS,
    (
        "closed_month",
        "category",
        "channel",
        "language_group",
        "country",
        "sector",
        "resolution_type",
        "remedies",
        "amount_band",
        "currency",
        "days_to_first_response_band",
        "days_to_remedy_band",
        "inspection_requested",
        "sanction_reported",
    ),
    (
        "closed_month",
        "category",
        "channel",
        "country",
        "sector",
        "resolution_type",
        "inspection_requested",
        "sanction_reported",
    ),
    ("closed_month", "category", "country", "resolution_type", "inspection_requested", "sanction_reported"),
    ("closed_month", "category"),
    ("category",),
)
FILTER_DIMENSIONS = ("category", "country", "sector", "channel")
TABLE_DIMENSIONS = (
    "category",
    "sector",
    "country",
    "channel",
    "language_group",
    "resolution_type",
    "days_to_first_response_band",
    "days_to_remedy_band",
    "case_age_band",
)
BAND_ORDER: dict[str, list[str]] = {
    "days_to_first_response_band": [label for _, label in FIRST_RESPONSE_BANDS],
    "days_to_remedy_band": [label for _, label in REMEDY_BANDS],
    "case_age_band": [label for _, label in CASE_AGE_BANDS],
    "amount_band": [label for _, label in AMOUNT_BANDS],
}
# Upper bound in days of each band (None: open-ended), for medians compared with targets.
BAND_UPPER_DAYS: dict[str, dict[str, int | None]] = {
    "days_to_first_response_band": {
        label: (None if upper is None else upper - 1) for upper, label in FIRST_RESPONSE_BANDS
    },
    "days_to_remedy_band": {label: (None if upper is None else upper - 1) for upper, label in REMEDY_BANDS},
}


class InvalidFilter(ValueError):
    """A summary or records filter is unknown or malformed; the message says which.

    `message` is an English gettext message id with %(name)s parameters in `params`, so a page
    can show it in the visitor's language; str() is the English text (the JSON API's error).
    """

    def __init__(self, message: str, **params: str) -> None:
        super().__init__(message % params)
        self.message = message
        self.params = params


# --- anonymization ---------------------------------------------------------------------------


def source_key(case_id: int) -> str:
    """Keyed hash of a case id: finds a case's record again without a link anyone can follow."""
    return lookup_hash("compliance-case", str(case_id))


def employer_pseudonym(name: str) -> str:
    """A keyed, stable pseudonym for an employer or recruiter name (case and spacing ignored)."""
    return pseudonym_of_key(employer_key(name))


def pseudonym_of_key(key: str) -> str:
    """The published pseudonym of an employer key (`Case.employer_pseudonym`, a full keyed hash)."""
    return "E" + key[:15].upper()


def band(value: Any, bands: Sequence[tuple[Any, str]]) -> str | None:
    if value is None:
        return None
    for upper, label in bands:
        if upper is None or value < upper:
            return label
    raise AssertionError("bands must end open")


def _code_or_other(value: str | None) -> str | None:
    """A sector code as is; anything typed freely (spaces, names) becomes "other", never published."""
    if not value:
        return None
    code = value.strip().lower()
    return code if len(code) <= 32 and code.replace("_", "").isalnum() and code.isascii() else "other"


def _days(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).days


def anonymize(session: Session, case_id: int) -> ComplianceRecord | None:
    """Create or refresh the compliance record of a closed case; None if it isn't closed.

    Idempotent: the record is found again by `source_key`, so running twice changes nothing.
    """
    case = session.get(Case, case_id)
    if case is None or case.status != "closed" or case.closed_at is None:
        return None
    assert case.id is not None
    outcome = session.exec(select(Outcome).where(Outcome.case_id == case.id)).first()
    key = source_key(case.id)
    record = session.exec(select(ComplianceRecord).where(ComplianceRecord.source_key == key)).first()
    if record is None:
        record = ComplianceRecord(source_key=key, opened_month="", closed_month="", category="", urgency="", channel="")
    # From the name while it exists, else the case's keyed hash; after retention erased the name,
    # the pseudonym already recorded stays.
    pseudonym = (
        employer_pseudonym(case.employer_name)
        if case.employer_name
        else pseudonym_of_key(case.employer_pseudonym)
        if case.employer_pseudonym
        else record.employer_pseudonym
    )
    remedied = outcome is not None and outcome.resolution_type in REMEDIED_OUTCOMES
    remedied_at = (case.resolved_at or case.closed_at) if remedied else None
    record.opened_month = case.created_at.strftime("%Y-%m")
    record.closed_month = case.closed_at.strftime("%Y-%m")
    record.category = str(case.category or "other")
    record.urgency = str(case.urgency)
    record.route = None if case.route is None else str(case.route)
    record.channel = str(case.channel)
    record.language_group = LANGUAGE_GROUPS.get(case.language or "", None if case.language is None else "other")
    record.country = case.country.upper() if case.country else None
    record.sector = _code_or_other(case.sector)
    record.resolution_type = outcome.resolution_type if outcome else None
    record.remedies = sorted(set(outcome.remedies)) if outcome else []
    amount = outcome.amount_recovered if outcome else None
    record.amount_band = band(amount, AMOUNT_BANDS) if amount else None
    record.currency = outcome.currency.upper() if outcome and amount and outcome.currency else None
    record.days_to_first_response_band = band(_days(case.created_at, case.first_response_at), FIRST_RESPONSE_BANDS)
    record.days_to_remedy_band = band(_days(case.created_at, remedied_at), REMEDY_BANDS)
    record.case_age_band = band(_days(case.created_at, case.closed_at), CASE_AGE_BANDS)
    record.inspection_requested = bool(outcome and outcome.inspection_requested)
    record.sanction_reported = bool(outcome and outcome.sanction_reported)
    record.employer_pseudonym = pseudonym
    session.add(record)
    # A plain UPDATE: bookkeeping, not an edit, so it must not bump the case's version and
    # make a staff member's concurrent edit fail as stale.
    session.execute(
        sa_update(Case)
        .where(col(Case.id) == case.id)
        .values(compliance_recorded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return record


def disclose_employer(session: Session, *, name: str, reason: str, approved_by_id: int) -> EmployerDisclosure:
    """Mark an employer publishable by name (still only where >= k records share its row)."""
    pseudonym = employer_pseudonym(name)
    disclosure = session.exec(
        select(EmployerDisclosure).where(EmployerDisclosure.employer_pseudonym == pseudonym)
    ).first()
    if disclosure is None:
        disclosure = EmployerDisclosure(
            employer_pseudonym=pseudonym, public_name=name.strip(), reason=reason, approved_by_id=approved_by_id
        )
    disclosure.public_name, disclosure.reason, disclosure.approved_by_id = name.strip(), reason, approved_by_id
    session.add(disclosure)
    return disclosure


# --- filters ---------------------------------------------------------------------------------


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


# --- the k-anonymous release -----------------------------------------------------------------


def _column_expression(name: str) -> Any:
    if name == "remedies":  # JSON has no equality operator on PostgreSQL; group by its text
        return cast(ComplianceRecord.remedies, Text)
    if name == "employer":
        return ComplianceRecord.employer_pseudonym
    return getattr(ComplianceRecord, name)


def release_statement(k: int, embargo_month: str) -> Any:
    """SQL for the release: (level, published columns…, count), one row per pattern with count >= k.

    Only months before `embargo_month` are included, so a single closure never shows up on
    its own between two downloads.
    """
    base = (
        sa_select(*[_column_expression(c).label(c) for c in PUBLIC_COLUMNS])
        .where(col(ComplianceRecord.closed_month) < embargo_month)
        .subquery("base")
    )
    level_ctes = []
    source: Any = base
    for number, columns in enumerate(LEVELS):
        count = func.count() if number == 0 else func.sum(source.c.n)
        grouped = sa_select(*[source.c[c] for c in columns], count.label("n")).group_by(*[source.c[c] for c in columns])
        if number > 0:
            grouped = grouped.where(source.c.n < k)
        cte = grouped.cte(f"level{number}")
        level_ctes.append(cte)
        source = cte
    parts = []
    for number, (columns, cte) in enumerate(zip(LEVELS, level_ctes, strict=True)):
        parts.append(
            sa_select(
                literal(number).label("level"),
                *[(cte.c[c] if c in columns else null()).label(c) for c in PUBLIC_COLUMNS],
                cte.c.n.label("n"),
            ).where(cte.c.n >= k)
        )
    released = union_all(*parts).subquery("released")
    return sa_select(released).order_by(*[released.c[c] for c in ("level", *PUBLIC_COLUMNS)])


def embargo_month(now: datetime | None = None) -> str:
    """The first month not yet published: the current (incomplete) month."""
    return (now or utcnow()).strftime("%Y-%m")


def release(
    session: Session, *, k: int, now: datetime | None = None, disclosed: Mapping[str, str] | None = None
) -> Generator[tuple[dict[str, Any], int], None, None]:
    """Yield (published row, number of records sharing it), streaming from the database."""
    names = disclosed if disclosed is not None else disclosed_employers(session)
    # A server-side cursor on PostgreSQL: rows arrive in batches, never all in memory.
    result = session.execute(
        release_statement(k, embargo_month(now)), execution_options={"stream_results": True, "yield_per": 2000}
    )
    try:
        for db_row in result:
            row = {c: getattr(db_row, c) for c in PUBLIC_COLUMNS}
            row["remedies"] = json.loads(row["remedies"]) if row["remedies"] is not None else None
            for flag in ("inspection_requested", "sanction_reported"):
                row[flag] = None if row[flag] is None else bool(row[flag])
            if row["employer"] is not None:
                row["employer"] = names.get(row["employer"], row["employer"])
            yield row, int(db_row.n)
    finally:
        result.close()  # a reader that stops early (one page) frees the cursor at once


def disclosed_employers(session: Session) -> dict[str, str]:
    rows = session.exec(select(EmployerDisclosure.employer_pseudonym, EmployerDisclosure.public_name)).all()
    return dict(rows)


# --- suppression -----------------------------------------------------------------------------


def protect_table(cells: Mapping[str, int], k: int, total: int | None = None) -> dict[str, int | None]:
    """Suppress (None) every cell in 1..k-1, then complementary cells, so nothing is recoverable.

    With a published `total`, the suppressed cells of the table must hold >= k cases together
    and be at least two (else total minus the visible cells gives one of them back); the next
    smallest non-zero cells are suppressed until that holds, or everything is.
    Zero cells are shown: "nobody" discloses nothing about a person.
    """
    protected: dict[str, int | None] = {key: (None if 0 < n < k else n) for key, n in cells.items()}
    if total is None:
        return protected
    if 0 < total < k:
        return dict.fromkeys(cells)

    def hidden() -> list[str]:
        return [key for key, value in protected.items() if value is None and cells[key] > 0]

    while hidden() and (len(hidden()) < 2 or sum(cells[key] for key in hidden()) < k):
        visible = sorted((n, key) for key, n in cells.items() if protected[key] is not None and n > 0)
        if not visible:
            return dict.fromkeys(cells)
        protected[visible[0][1]] = None
    return protected


# --- summaries -------------------------------------------------------------------------------


def _median_band(counter: Counter[str], order: list[str]) -> str | None:
    total = sum(counter.values())
    if total == 0:
        return None
    running = 0
    for label in order:
        running += counter.get(label, 0)
        if running * 2 >= total:
            return label
    return None


Pattern = tuple[dict[str, Any], int]


def summarize(
    session: Session | None,
    filters: Filters,
    k: int = DEFAULT_K,
    *,
    now: datetime | None = None,
    patterns: Iterable[Pattern] | None = None,
) -> dict[str, Any]:
    """The published aggregates behind the dashboard, from the k-anonymous release.

    Every cell is a sum of release patterns (each >= k records), and each table is then
    cell-suppressed with complementary suppression; a suppressed cell is `None`.
    `patterns` is the release already read (e.g. from a cache); else it is read from `session`.
    """
    total = 0
    tables: dict[str, Counter[str]] = {name: Counter() for name in TABLE_DIMENSIONS}
    remedies: Counter[str] = Counter()
    amounts: Counter[str] = Counter()
    months: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    known: Counter[str] = Counter()
    if patterns is None:
        if session is None:
            raise TypeError("summarize needs a session or the release's patterns")
        patterns = release(session, k=k, now=now)
    for row, count in patterns:
        if not filters.matches(row):
            continue
        total += count
        for name in TABLE_DIMENSIONS:
            tables[name][row[name] if row[name] is not None else "not_published"] += count
        if row["remedies"] is not None:
            known["remedies"] += count
            for remedy in row["remedies"]:
                remedies[remedy] += count
        if row["amount_band"] is not None and row["currency"] is not None:
            amounts[f"{row['currency']} {row['amount_band']}"] += count
        months[row["closed_month"] or "not_published"] += count
        for flag in ("inspection_requested", "sanction_reported"):
            if row[flag] is not None:
                known[flag] += count
                flags[flag] += count if row[flag] else 0
    published_total = None if 0 < total < k else total
    summary: dict[str, Any] = {
        "k": k,
        "period": {"start": filters.start, "end": filters.end},
        "filters": dict(filters.dimensions),
        "total_cases": published_total,
        "by": {name: protect_table(tables[name], k, total) for name in TABLE_DIMENSIONS},
        # A case can have several remedies (no total to subtract from): primary suppression only.
        "remedies": protect_table(remedies, k),
        "amounts_recovered": protect_table(amounts, k),
        "monthly": dict(sorted(protect_table(months, k, total).items())),
        "inspection_requested": _flag_cells(flags["inspection_requested"], known["inspection_requested"], k),
        "sanction_reported": _flag_cells(flags["sanction_reported"], known["sanction_reported"], k),
        "median_days_to_first_response_band": _published_median(
            tables["days_to_first_response_band"], "days_to_first_response_band", k
        ),
        "median_days_to_remedy_band": _published_median(tables["days_to_remedy_band"], "days_to_remedy_band", k),
    }
    return summary


def _flag_cells(yes: int, known: int, k: int) -> dict[str, int | None]:
    return protect_table({"yes": yes, "no": known - yes}, k, known)


def _published_median(counter: Counter[str], band_name: str, k: int) -> str | None:
    measured = Counter({label: n for label, n in counter.items() if label in BAND_ORDER[band_name]})
    if sum(measured.values()) < k:
        return None
    return _median_band(measured, BAND_ORDER[band_name])


# --- periodic review -------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorResult:
    name: str
    value: float | None
    target: float
    trigger: float
    higher_is_better: bool
    cases: int

    @property
    def status(self) -> str:
        if self.value is None:
            return "insufficient_data"
        better = (lambda a, b: a >= b) if self.higher_is_better else (lambda a, b: a <= b)
        if better(self.value, self.target):
            return "on_target"
        return "below_target" if better(self.value, self.trigger) else "revision_trigger"


def load_review_targets(path: Path = REVIEW_TARGETS_PATH) -> dict[str, dict[str, Any]]:
    """Read the indicator targets (YAML) and check each has target, trigger and direction."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    indicators = data.get("indicators")
    if not isinstance(indicators, dict) or not indicators:
        raise ValueError(f"{path}: expected a mapping 'indicators'")
    for name, spec in indicators.items():
        if name not in INDICATORS:
            raise ValueError(f"{path}: unknown indicator {name!r}; known: {', '.join(INDICATORS)}")
        if (
            not isinstance(spec, dict)
            or not {"target", "trigger", "direction"} <= set(spec)
            or spec["direction"] not in ("higher", "lower")
        ):
            raise ValueError(f"{path}: indicator {name!r} needs target, trigger and direction (higher|lower)")
    return indicators


# Review indicators are computed from counts grouped in SQL on these columns, so a review
# of a large period never loads the records themselves.
REVIEW_COLUMNS = (
    "resolution_type",
    "inspection_requested",
    "sanction_reported",
    "days_to_first_response_band",
    "days_to_remedy_band",
)
Group = tuple[dict[str, Any], int]


def _share(groups: list[Group], predicate: Any, population: Any = lambda g: True) -> tuple[float | None, int]:
    cases = sum(n for g, n in groups if population(g))
    hits = sum(n for g, n in groups if population(g) and predicate(g))
    return (hits / cases if cases else None), cases


def _median_days(groups: list[Group], band_name: str) -> tuple[float | None, int]:
    counter: Counter[str] = Counter()
    for g, n in groups:
        if g[band_name] is not None:
            counter[g[band_name]] += n
    if not counter:
        return None, 0
    label = _median_band(counter, BAND_ORDER[band_name])
    upper = BAND_UPPER_DAYS[band_name].get(label or "")
    # An open-ended band has no upper bound: report its lower bound, the best it can be.
    if upper is None:
        order = BAND_ORDER[band_name]
        previous = order[order.index(label) - 1] if label in order and order.index(label) > 0 else None
        upper = (BAND_UPPER_DAYS[band_name].get(previous) or 0) + 1 if previous else 0
    return float(upper), sum(counter.values())


INDICATORS: dict[str, Any] = {
    "remedy_share": lambda groups: _share(groups, lambda g: g["resolution_type"] in REMEDIED_OUTCOMES),
    "inspection_referral_share": lambda groups: _share(groups, lambda g: g["inspection_requested"]),
    "sanction_share": lambda groups: _share(
        groups, lambda g: g["sanction_reported"], population=lambda g: g["inspection_requested"]
    ),
    "median_days_to_first_response": lambda groups: _median_days(groups, "days_to_first_response_band"),
    "median_days_to_remedy": lambda groups: _median_days(groups, "days_to_remedy_band"),
}


def review(
    session: Session, filters: Filters, targets: Mapping[str, Mapping[str, Any]], k: int = DEFAULT_K
) -> list[IndicatorResult]:
    """Compare each configured indicator over the period with its target and revision trigger.

    An indicator computed on fewer than k cases is reported as insufficient data.
    """
    columns = [getattr(ComplianceRecord, name) for name in REVIEW_COLUMNS]
    statement = sa_select(*columns, func.count()).group_by(*columns)
    if filters.start:
        statement = statement.where(col(ComplianceRecord.closed_month) >= filters.start)
    if filters.end:
        statement = statement.where(col(ComplianceRecord.closed_month) <= filters.end)
    for name, value in filters.dimensions.items():
        statement = statement.where(getattr(ComplianceRecord, name) == value)
    groups = [(dict(zip(REVIEW_COLUMNS, row[:-1], strict=True)), int(row[-1])) for row in session.execute(statement)]
    results = []
    for name, spec in targets.items():
        value, cases = INDICATORS[name](groups)
        results.append(
            IndicatorResult(
                name=name,
                value=None if cases < k else value,
                target=float(spec["target"]),
                trigger=float(spec["trigger"]),
                higher_is_better=spec["direction"] == "higher",
                cases=cases,
            )
        )
    return results
