"""Anonymization, the k-anonymous release, suppression (with complementary cells) and reviews."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from casework.compliance import anonymize, review
from casework.compliance.filters import Filters, InvalidFilter, parse_filters
from casework.compliance.release import embargo_month, release
from casework.compliance.schema import PUBLIC_COLUMNS
from casework.compliance.summary import protect_table, summarize
from casework.models import CaseStatus, ComplianceRecord, EmployerDisclosure
from casework.privacy import employer_key
from tests.closed_cases import close_case, staff_id

K = 5
NOW = datetime(2025, 12, 15, tzinfo=UTC)


def record_of(session: Session, case_id: int) -> ComplianceRecord:
    return session.exec(
        select(ComplianceRecord).where(ComplianceRecord.source_key == anonymize.source_key(case_id))
    ).one()


def closed(session: Session, count: int = 1, **fields: Any) -> list[Any]:
    made = []
    for _ in range(count):
        case = close_case(session, **fields)
        anonymize.anonymize(session, case.id)
        session.commit()
        made.append(case)
    return made


def test_record_holds_only_generalized_codes(session: Session) -> None:
    (case,) = closed(session, closed_at=datetime(2025, 3, 10, tzinfo=UTC), age_days=40, amount="4500.50")
    record = record_of(session, case.id)
    assert (record.opened_month, record.closed_month) == ("2025-01", "2025-03")
    assert (record.category, record.country, record.sector, record.channel) == (
        "wage_theft",
        "MY",
        "construction",
        "sms",
    )
    assert record.language_group == "south_asian"  # never the language itself
    assert (record.amount_band, record.currency) == ("1000_9999", "MYR")
    assert (record.case_age_band, record.days_to_first_response_band, record.days_to_remedy_band) == (
        "30_89",
        "1_2",
        "30_89",
    )
    assert record.remedies == ["wages_paid"] and record.resolution_type == "remedied"
    stored = json.dumps(record.model_dump(mode="json"))
    for secret in (case.reference, "Acme", "acme", "+60123456789", "Ram", "paid me"):
        assert secret not in stored
    assert not {"case_id", "reporter_id", "reference"} & set(record.model_dump())
    assert record.source_key != anonymize.source_key(case.id + 1)
    assert record.employer_pseudonym == anonymize.employer_pseudonym("  ACME plantations   sdn bhd")


def test_a_case_with_only_the_employer_key_counts_under_the_same_pseudonym(session: Session) -> None:
    (typed,) = closed(session, employer="Acme Plantations Sdn Bhd")
    keyed = close_case(session, employer=None)
    keyed.employer_pseudonym = employer_key("acme  PLANTATIONS sdn bhd")  # as triage or the web form set it
    session.add(keyed)
    anonymize.anonymize(session, keyed.id)
    session.commit()
    assert (
        record_of(session, keyed.id).employer_pseudonym
        == record_of(session, typed.id).employer_pseudonym
        == anonymize.employer_pseudonym("Acme Plantations Sdn Bhd")
    )
    (nameless,) = closed(session, employer=None)
    assert record_of(session, nameless.id).employer_pseudonym is None


def test_free_text_in_a_code_field_is_not_published(session: Session) -> None:
    (case,) = closed(session, sector="Mr Tan's durian farm")
    assert record_of(session, case.id).sector == "other"


def test_anonymize_is_idempotent_and_follows_a_reclosure(session: Session) -> None:
    (case,) = closed(session)
    version = case.version
    anonymize.anonymize(session, case.id)
    session.commit()
    session.refresh(case)
    assert case.version == version and case.compliance_recorded_at is not None  # not an edit of the case
    assert len(session.exec(select(ComplianceRecord)).all()) == 1
    from casework import cases

    cases.transition(session, case, CaseStatus.INVESTIGATING, reason="new evidence")
    assert anonymize.anonymize(session, case.id) is None  # an open case yields nothing
    case.category = "document_confiscation"
    cases.transition(session, case, CaseStatus.CLOSED)
    anonymize.anonymize(session, case.id)
    session.commit()
    records = session.exec(select(ComplianceRecord)).all()
    assert len(records) == 1 and records[0].category == "document_confiscation"


@pytest.mark.parametrize(
    ("label", "cells", "total", "expected"),
    [
        ("nothing small", {"a": 9, "b": 6}, 15, {"a": 9, "b": 6}),
        (
            "one small cell takes the next smallest with it",
            {"a": 20, "b": 2, "c": 7, "d": 9},
            38,
            {"a": 20, "b": None, "c": None, "d": 9},
        ),
        (
            "two small cells under k together take a third",
            {"a": 20, "b": 1, "c": 2, "d": 6, "e": 9},
            38,
            {"a": 20, "b": None, "c": None, "d": None, "e": 9},
        ),
        (
            "zeros stay visible and never count as complements",
            {"a": 10, "b": 0, "c": 3},
            13,
            {"a": None, "b": 0, "c": None},
        ),
        ("a total under k hides everything", {"a": 3, "b": 1}, 4, {"a": None, "b": None}),
        ("no total: primary suppression only", {"a": 3, "b": 8}, None, {"a": None, "b": 8}),
    ],
)
def test_protect_table(label: str, cells: dict[str, int], total: int | None, expected: dict[str, Any]) -> None:
    assert protect_table(cells, K, total) == expected, label


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 30), min_size=1), st.integers(2, 10))
def test_suppressed_cells_cannot_be_recovered_from_the_total(cells: dict[str, int], k: int) -> None:
    total = sum(cells.values())
    protected = protect_table(cells, k, total)
    visible = {key: v for key, v in protected.items() if v is not None}
    assert all(v == 0 or v >= k for v in visible.values())
    hidden = [key for key, v in protected.items() if v is None and cells[key] > 0]
    if 0 < total < k:  # summarize() withholds the total too; then nothing is left to subtract from
        assert not visible or all(v == 0 for v in visible.values())
    elif hidden:
        # What an attacker can compute: the hidden cells' sum. It must not pin down any one of them.
        assert len(hidden) >= 2 and total - sum(visible.values()) >= k


def crafted(session: Session) -> None:
    """A mix of big groups and a few people who would stand out on their own."""
    closed(session, 7, closed_at=datetime(2025, 3, 10, tzinfo=UTC))
    closed(
        session,
        5,
        closed_at=datetime(2025, 4, 2, tzinfo=UTC),
        category="document_confiscation",
        country="QA",
        sector="domestic_work",
        language="tl",
        channel="whatsapp",
        resolution="not_remedied",
        remedies=(),
        amount=None,
        inspection=True,
    )
    closed(
        session,
        6,
        closed_at=datetime(2025, 4, 20, tzinfo=UTC),
        category="document_confiscation",
        country="QA",
        sector="domestic_work",
        language="tl",
        channel="whatsapp",
        resolution="not_remedied",
        remedies=(),
        amount=None,
        inspection=True,
        employer="Other Agency",
    )
    # The outliers: one case in a rare country, one in a rare sector, two sanctioned.
    closed(
        session,
        1,
        closed_at=datetime(2025, 3, 20, tzinfo=UTC),
        country="LB",
        sector="domestic_work",
        language="am",
        category="forced_labour",
    )
    closed(
        session,
        1,
        closed_at=datetime(2025, 4, 20, tzinfo=UTC),
        country="QA",
        sector="fishing",
        language="tl",
        channel="whatsapp",
        category="document_confiscation",
        resolution="not_remedied",
        remedies=(),
        amount=None,
        inspection=True,
        sanction=True,
    )
    closed(
        session,
        1,
        closed_at=datetime(2025, 5, 5, tzinfo=UTC),
        country="MY",
        sector="construction",
        inspection=True,
        sanction=True,
    )


def cells_of(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every count in a summary, with where it is."""
    found: list[tuple[str, Any]] = [("total_cases", summary["total_cases"])]
    for table, cells in summary["by"].items():
        found += [(f"by.{table}.{key}", v) for key, v in cells.items()]
    for table in ("remedies", "amounts_recovered", "monthly", "inspection_requested", "sanction_reported"):
        found += [(f"{table}.{key}", v) for key, v in summary[table].items()]
    return found


HOSTILE_FILTERS = [
    {},
    {"country": "LB"},
    {"country": "QA", "sector": "fishing"},
    {"sector": "fishing"},
    {"category": "forced_labour"},
    {"country": "MY", "channel": "sms"},
    {"period": "2025-05..2025-05"},
    {"period": "2025-03..2025-03", "country": "LB"},
    {"period": "2025-04..2025-04", "country": "QA"},
    {"period": "2025-03..2025-04"},
    {"period": "2025-03..2025-05"},
    {"period": "2025-04..2025-05"},
    {"country": "QA", "category": "document_confiscation", "channel": "whatsapp", "sector": "domestic_work"},
]


def test_no_published_cell_is_under_k_whatever_the_filters(session: Session) -> None:
    crafted(session)
    for params in HOSTILE_FILTERS:
        summary = summarize(session, parse_filters(params), K, now=NOW)
        small = [(where, v) for where, v in cells_of(summary) if v is not None and 0 < v < K]
        assert small == [], f"{params}: {small}"


def contains(outer: Filters, inner: Filters) -> bool:
    """Whether every case `inner` selects is also selected by `outer`."""
    return (
        all(inner.dimensions.get(name) == value for name, value in outer.dimensions.items())
        and (outer.start is None or (inner.start is not None and inner.start >= outer.start))
        and (outer.end is None or (inner.end is not None and inner.end <= outer.end))
    )


def test_differences_between_overlapping_queries_are_never_under_k(session: Session) -> None:
    """Differencing attack: subtract one answer from another to isolate a few people."""
    crafted(session)
    parsed = [parse_filters(p) for p in HOSTILE_FILTERS]
    answers = [dict(cells_of(summarize(session, f, K, now=NOW))) for f in parsed]
    nested = [
        (answers[i], answers[j])
        for i, j in itertools.permutations(range(len(parsed)), 2)
        if contains(parsed[i], parsed[j])
    ]
    assert len(nested) > 20
    for first, second in nested:
        for where in first.keys() & second.keys():
            a, b = first[where], second[where]
            if a is not None and b is not None:
                assert abs(a - b) == 0 or abs(a - b) >= K, where


def test_rare_people_are_generalized_or_withheld_not_published(session: Session) -> None:
    crafted(session)
    rows = list(release(session, k=K, now=NOW))
    assert all(count >= K for _, count in rows)
    assert not any(row["country"] == "LB" or row["sector"] == "fishing" for row, _ in rows)
    assert summarize(session, parse_filters({"country": "LB"}), K, now=NOW)["total_cases"] == 0
    # The 7 identical March cases are published in full, employer as a pseudonym.
    full = [row for row, count in rows if row["closed_month"] == "2025-03" and row["country"] == "MY"]
    assert full and full[0]["employer"] == anonymize.employer_pseudonym("Acme Plantations Sdn Bhd")


def test_current_month_is_embargoed(session: Session) -> None:
    closed(session, 6, closed_at=datetime(2025, 12, 1, tzinfo=UTC))
    assert summarize(session, Filters(), K, now=NOW)["total_cases"] == 0
    # Published a day after the month ends: its last closures may still be being recorded.
    assert summarize(session, Filters(), K, now=datetime(2026, 1, 1, 12, tzinfo=UTC))["total_cases"] == 0
    assert summarize(session, Filters(), K, now=datetime(2026, 1, 2, tzinfo=UTC))["total_cases"] == 6


def test_a_month_under_k_waits_for_the_next_until_their_closures_reach_k(session: Session) -> None:
    closed(session, 6, closed_at=datetime(2025, 9, 10, tzinfo=UTC))
    closed(session, 1, closed_at=datetime(2025, 10, 10, tzinfo=UTC), category="forced_labour")
    closed(session, 3, closed_at=datetime(2025, 11, 10, tzinfo=UTC))
    closed(session, 1, closed_at=datetime(2025, 12, 10, tzinfo=UTC))
    assert embargo_month(session, k=K, now=datetime(2025, 12, 20, tzinfo=UTC)) == "2025-10"  # 1 + 3 < k
    assert embargo_month(session, k=K, now=datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01"  # 1 + 3 + 1 = k
    assert embargo_month(session, k=K, now=datetime(2025, 10, 1, 23, tzinfo=UTC)) == "2025-09"
    assert embargo_month(session, k=6, now=datetime(2026, 1, 2, tzinfo=UTC)) == "2025-10"


def test_employer_named_only_when_disclosed(session: Session) -> None:
    closed(session, 5)
    pseudonym = anonymize.employer_pseudonym("Acme Plantations Sdn Bhd")
    assert {row["employer"] for row, _ in release(session, k=K, now=NOW)} == {pseudonym}
    anonymize.disclose_employer(
        session, name="Acme Plantations Sdn Bhd", reason="sanctioned in 2024", approved_by_id=staff_id(session)
    )
    session.commit()
    assert session.exec(select(EmployerDisclosure)).one().employer_pseudonym == pseudonym
    assert {row["employer"] for row, _ in release(session, k=K, now=NOW)} == {"Acme Plantations Sdn Bhd"}
    # Fewer than k records: even a disclosed employer's cases are not published at all.
    assert list(release(session, k=6, now=NOW)) == []


@pytest.mark.parametrize(
    ("label", "params", "message"),
    [
        ("unknown filter", {"employer": "x"}, "unknown filter"),
        ("inverted period", {"period": "2025-05..2025-01"}, "starts after"),
        ("absurd year", {"period": "1900-01..2025-01"}, "out of range"),
        ("not a month", {"period": "2025-13..2025-14"}, "YYYY-MM"),
        ("open range", {"period": "2025-01.."}, "YYYY-MM..YYYY-MM"),
        ("injection attempt", {"country": "MY' OR 1=1--"}, "letters, digits"),
        ("oversized value", {"sector": "x" * 100}, "letters, digits"),
    ],
)
def test_bad_filters_are_refused(label: str, params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidFilter, match=message):
        parse_filters(params)


def test_review_lists_indicators_past_their_revision_trigger(session: Session) -> None:
    closed(session, 3, resolution="remedied")
    closed(session, 7, resolution="not_remedied", remedies=(), amount=None, inspection=True)
    targets = review.load_review_targets()
    results = {r.name: r for r in review.review(session, parse_filters({"period": "2025-01..2025-12"}), targets, K)}
    assert results["remedy_share"].value == pytest.approx(0.3)
    assert results["remedy_share"].status == "revision_trigger"
    assert results["inspection_referral_share"].status == "on_target"
    assert (
        results["median_days_to_first_response"].value == 2
        and results["median_days_to_first_response"].status == "on_target"
    )
    assert results["sanction_share"].status == "revision_trigger"
    empty = review.review(session, parse_filters({"period": "2020-01..2020-12"}), targets, K)
    assert {r.status for r in empty} == {"insufficient_data"}


# --- the release over time: what two downloads, a month apart, can tell ------------------------


def record_counts(patterns: list[Any]) -> dict[str, int]:
    """Records per value of every published column, the published patterns themselves, and the total."""
    counts: Counter[str] = Counter()
    for row, n in patterns:
        counts["total"] += n
        counts[f"pattern {json.dumps(row, sort_keys=True)}"] += n
        for column in PUBLIC_COLUMNS:
            counts[f"{column}={json.dumps(row[column])}"] += n
    return dict(counts)


def small_differences(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Every count that two downloads both publish (absent: 0) and that moved by 1..k-1."""
    return [
        (where, before.get(where, 0), after.get(where, 0))
        for where in before.keys() | after.keys()
        if before.get(where, 0) is not None
        and after.get(where, 0) is not None
        and 0 < abs(after.get(where, 0) - before.get(where, 0)) < K
    ]


def downloads(session: Session, moments: list[datetime], filters: list[Filters]) -> list[dict[str, Any]]:
    """What a visitor could save at each moment: the records, and the summary for each filter."""
    saved = []
    for moment in moments:
        patterns = list(release(session, k=K, now=moment))
        answer = {f"records: {where}": n for where, n in record_counts(patterns).items()}
        for f in filters:
            summary = summarize(None, f, K, patterns=patterns)
            answer.update({f"summary {f}: {where}": n for where, n in cells_of(summary)})
        saved.append(answer)
    return saved


def test_a_lone_closure_never_shows_between_two_downloads(session: Session) -> None:
    """Five forced-labour cases in earlier months, then December's only closure: when December
    ends, nothing published may move by fewer than k (here: by that one case)."""
    closed(session, 16, closed_at=datetime(2025, 3, 10, tzinfo=UTC))
    for month in range(4, 9):
        closed(session, closed_at=datetime(2025, month, 12, tzinfo=UTC), category="forced_labour")
    closed(session, closed_at=datetime(2025, 12, 5, tzinfo=UTC), category="forced_labour", country="LB")
    moments = [
        datetime(2025, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 2, 0, 1, tzinfo=UTC),
        datetime(2026, 2, 2, tzinfo=UTC),
        datetime(2026, 7, 2, tzinfo=UTC),
    ]
    filters = [Filters(), parse_filters({"category": "forced_labour"}), parse_filters({"country": "LB"})]
    saved = downloads(session, moments, filters)
    assert saved[0]["summary " + str(Filters()) + ": total_cases"] == 21
    for (i, first), (j, second) in itertools.combinations(enumerate(saved), 2):
        assert small_differences(first, second) == [], (moments[i], moments[j])


def synthetic_records(session: Session, seed: int) -> None:
    """Two years of records, written directly: busy months, quiet months, lone cases, empty months."""
    rng = random.Random(seed)
    busy = [0, 0, 1, 2, 2, 2, 4, 5, 7, 7, 8, 9, 11, 12, 13, 15, 17, 18, 19, 22]
    quiet = [3, 6, 10, 10, 14, 16, 16, 16, 20, 20, 20, 21, 23]  # months with 1 to 3 closures
    for index, offset in enumerate([rng.choice(busy) for _ in range(420)] + quiet):
        year, month = divmod(offset, 12)
        category = rng.choice(["wage_theft"] * 6 + ["document_confiscation"] * 3 + ["forced_labour", "housing"])
        session.add(
            ComplianceRecord(
                source_key=f"synthetic-{seed}-{index}",
                opened_month=f"{2024 + year}-{month + 1:02d}",
                closed_month=f"{2024 + year}-{month + 1:02d}",
                category=category,
                urgency=rng.choice(["normal", "normal", "high"]),
                route="ombudsperson",
                channel=rng.choice(["sms", "sms", "whatsapp", "web"]),
                language_group=rng.choice(["south_asian", "southeast_asian"]),
                country=rng.choice(["MY", "MY", "QA", "LB"]),
                sector=rng.choice(["construction", "domestic_work"]),
                resolution_type=rng.choice(["remedied", "not_remedied"]),
                remedies=rng.choice([[], ["wages_paid"]]),
                days_to_first_response_band=rng.choice(["0", "1_2"]),
                case_age_band="30_89",
                inspection_requested=rng.random() < 0.3,
                sanction_reported=rng.random() < 0.1,
                employer_pseudonym=rng.choice(["E1", "E2", None]),
            )
        )
    session.commit()


@pytest.mark.parametrize("seed", [1, 2])
def test_no_two_downloads_differ_by_fewer_than_k(session: Session, seed: int) -> None:
    """Downloads taken around every month boundary over two years, and mid-month: any count in
    one minus the same count in another is 0 or at least k, and nothing published is taken back."""
    synthetic_records(session, seed)
    moments = [datetime(2024 + m // 12, m % 12 + 1, day, tzinfo=UTC) for m in range(26) for day in (1, 2, 20)]
    filters = [Filters(), parse_filters({"country": "LB"}), parse_filters({"period": "2024-01..2024-06"})]
    saved = downloads(session, moments, filters)
    assert saved[-1]["records: total"] > 300  # the data is published in the end
    for (i, first), (j, second) in itertools.combinations(enumerate(saved), 2):
        assert small_differences(first, second) == [], (moments[i], moments[j])
        patterns = {where: n for where, n in first.items() if where.startswith("records: pattern")}
        assert all(second.get(where, 0) >= n for where, n in patterns.items()), "a published row shrank"
    # Each change comes from a new slice of at least k closures, never from one month's lone case.
    bounds = [embargo_month(session, k=K, now=moment) for moment in moments]
    months = [record.closed_month for record in session.exec(select(ComplianceRecord)).all()]
    for before, after in itertools.pairwise(bounds):
        assert before <= after
        new_slice = sum(1 for month in months if before <= month < after)
        assert new_slice == 0 or new_slice >= K, (before, after)


def test_a_flag_generalised_away_is_not_published_as_zero(session: Session) -> None:
    """Sanctioned cases whose rows lost the sanction column are "not published", never "yes: 0"."""
    closed(session, 7, closed_at=datetime(2025, 3, 10, tzinfo=UTC))  # published whole: sanction no
    for country, sanction in (("MY", True), ("QA", True), ("LB", False), ("SA", False), ("AE", True)):
        closed(
            session, closed_at=datetime(2025, 4, 10, tzinfo=UTC), country=country, inspection=True, sanction=sanction
        )
    summary = summarize(session, Filters(), K, now=NOW)
    assert summary["total_cases"] == 12
    # April's five are published by month and category only: their flags are unknown, not "no".
    assert summary["sanction_reported"] == {"yes": None, "no": 7, "not_published": 5}
    assert summary["inspection_requested"] == {"yes": None, "no": 7, "not_published": 5}
    # Where every published row carries the flag, a zero is a fact and is shown.
    march = summarize(session, parse_filters({"period": "2025-03..2025-03"}), K, now=NOW)
    assert march["sanction_reported"] == {"yes": 0, "no": 7}
