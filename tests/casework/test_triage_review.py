"""Why triage decided (indicators, the rule, the matched words marked in the text, the audit events
in words) and how automatic triage fares against staff corrections in live use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from casework.models import CaseEvent, Category, Message, Urgency
from casework.triage import (
    TriageError,
    apply_triage,
    confirm_triage,
    override_triage,
    period_bounds,
    triage_confusion,
)
from casework.triage_explain import case_findings, describe_event, describe_rule, explain_triage, mark_phrases
from tests.factories import make_case, make_staff
from tests.triage_support import LEXICON, inbound, triaged_case

# --- the matched words, marked --------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "text", "phrases", "marked", "missing"),
    [
        ("any case", "They LOCKED ME in the house", ["locked me"], ["LOCKED ME"], []),
        ("every occurrence", "debt, debt and more debt", ["debt"], ["debt", "debt", "debt"], []),
        ("across other whitespace", "locked\n  me in", ["locked me"], ["locked\n  me"], []),
        ("accents as triage compares them", "No me pagan el salário", ["salario"], ["salário"], []),
        ("a whole word only", "the debtor paid", ["debt"], [], ["debt"]),
        ("script without spaces", "老板拿走了我的护照", ["护照"], ["护照"], []),
        ("not in the text", "My salary is not paid", ["passport"], [], ["passport"]),
        ("overlapping phrases merge", "they locked me in", ["locked me", "me in"], ["locked me in"], []),
        ("no text at all", None, ["passport"], [], ["passport"]),
    ],
)
def test_matched_words_are_marked_in_the_text_as_written(
    label: str, text: str | None, phrases: list[str], marked: list[str], missing: list[str]
) -> None:
    result = mark_phrases(text, phrases)
    assert [piece for piece, hit in result.segments if hit] == marked, label
    assert list(result.missing) == missing, label
    assert "".join(piece for piece, _ in result.segments) == (text or ""), "the text itself is never changed"


def test_every_urgency_rule_reads_in_words() -> None:
    for rule in LEXICON.urgency_rules:
        words = describe_rule(rule.name, LEXICON)
        assert rule.name in words and rule.urgency.value in words
    assert "restriction of movement" in describe_rule("danger-now", LEXICON)
    assert "at least 3" in describe_rule("forced-labour-pattern", LEXICON)
    assert "urgency" in describe_rule("urgency words", LEXICON)
    assert "forced labour" in describe_rule("category forced_labour", LEXICON)
    assert "no longer" in describe_rule("a-rule-since-removed", LEXICON)


# --- a case's triage explained --------------------------------------------------------------


def test_the_explanation_names_the_indicators_their_words_and_the_rule(session: Session) -> None:
    case = triaged_case(session, "They took my passport. Now they locked me in the house.")
    events = list(session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all())
    why = explain_triage(case, events, case_findings(session, case), LEXICON)
    names = {found.indicator: found for found in why.indicators}
    assert {"retention_of_identity_documents", "restriction_of_movement"} <= set(names)
    assert names["restriction_of_movement"].label.startswith("ILO: restriction of movement")
    [(message_id, source, phrase)] = names["restriction_of_movement"].evidence
    assert source == "original" and phrase == "locked me"
    assert why.rule == "danger-now" and why.rule_text and "critical" in why.rule_text
    assert why.urgency_set_by is None and not why.needs_human_triage
    [message] = session.exec(select(Message).where(Message.id == message_id)).all()
    marked = mark_phrases(message.body, why.phrases(message_id, "original"))
    assert [piece for piece, hit in marked.segments if hit] == ["passport", "locked me"] and not marked.missing


def test_a_staff_correction_of_the_urgency_replaces_the_rule(session: Session) -> None:
    staff = make_staff(session)
    case = triaged_case(session, "I have not been paid for 3 months", corrected_by=staff.id, urgency="high")
    events = list(session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all())
    why = explain_triage(case, events, case_findings(session, case), LEXICON)
    assert why.rule is None and why.rule_text is None and why.urgency_set_by == staff.id
    confirm_triage(session, case, staff.id)
    events = list(session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all())
    assert explain_triage(case, events, [], LEXICON).confirmed_by == staff.id


def test_triage_events_say_what_changed_and_why(session: Session) -> None:
    staff = make_staff(session)
    case = triaged_case(session, "They took my passport")
    apply_triage(session, case, inbound(session, case, "now they locked me in, please help"), LEXICON)
    apply_triage(session, case, inbound(session, case, "ok"), LEXICON)
    override_triage(session, case, staff.id, category="forced_labour", urgency="critical")
    confirm_triage(session, case, staff.id)
    statement = select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action.startswith("triage"))  # type: ignore[attr-defined]
    words = [describe_event(e, LEXICON) for e in session.exec(statement.order_by(CaseEvent.id)).all()]
    first, follow_up, quiet, corrected, confirmed = words
    assert first.startswith("first triage: category set to document confiscation (confidence")
    assert "urgency set to high" in first and "retention of identity documents" in first
    assert "“serious-indicator”: high when any of these is found" in first
    assert follow_up.startswith("follow-up message: urgency raised to critical")
    assert "restriction of movement" in follow_up and "“danger-now”" in follow_up
    assert quiet.startswith("follow-up message: nothing changed") and "no danger indicator found" in quiet
    assert corrected == "category document confiscation → forced labour."  # the urgency was critical already
    assert confirmed == "a person checked triage and kept it: category forced labour, urgency critical."
    assert describe_event(CaseEvent(action="note_added"), LEXICON) == ""


def test_a_case_with_nothing_to_go_on_says_it_needs_a_person(session: Session) -> None:
    case = triaged_case(session, "hello? please")
    [event] = session.exec(select(CaseEvent).where(CaseEvent.action == "triaged")).all()
    assert case.needs_human_triage
    assert "a person must triage it" in describe_event(event, LEXICON)


def test_confirming_a_case_triage_never_ran_on_is_refused(session: Session) -> None:
    staff = make_staff(session)
    case = make_case(session)
    with pytest.raises(TriageError, match="nothing to confirm"):
        confirm_triage(session, case, staff.id)
    assert not session.exec(select(CaseEvent).where(CaseEvent.action == "triage_confirmed")).all()


# --- accuracy from live use -----------------------------------------------------------------

WAGES_EN = "I have not been paid for 3 months"
WAGES_TL = "Hindi binabayaran ang sahod ko"


def test_confusion_matrices_per_language_and_overall_with_small_cells_suppressed(session: Session) -> None:
    staff = make_staff(session)
    for _ in range(4):
        triaged_case(session, WAGES_EN)
    for _ in range(3):
        triaged_case(session, WAGES_EN, corrected_by=staff.id, category="recruitment_fees")
    triaged_case(session, WAGES_EN, corrected_by=staff.id, urgency="high")  # kept its category
    for _ in range(2):
        triaged_case(session, WAGES_TL, language="tl")
    session.commit()
    report = triage_confusion(session, k=3)
    assert report["k"] == 3 and list(report["languages"]) == ["en", "tl"]
    en = report["languages"]["en"]
    assert en["cases"] == 8
    assert en["category"]["labels"] == ["wage_theft", "recruitment_fees"]
    assert en["category"]["cells"] == {
        "wage_theft": {"wage_theft": 5, "recruitment_fees": 3},
        "recruitment_fees": {"wage_theft": 0, "recruitment_fees": 0},
    }
    assert (en["category"]["kept"], en["category"]["total"], en["category"]["accuracy"]) == (5, 8, 0.625)
    # urgency: 7 kept normal, 1 normal → high: the 1 is under k, and hiding it alone would not do
    # (8 - 7 gives it back), so the next smallest cell goes too, and the share kept with it.
    assert en["urgency"]["labels"] == ["normal", "high"]
    assert en["urgency"]["cells"]["normal"] == {"normal": None, "high": None}
    assert en["urgency"]["kept"] is None and en["urgency"]["accuracy"] is None
    tl = report["languages"]["tl"]
    assert tl["cases"] is None, "2 cases < k: not even the count"
    assert tl["category"] == {"labels": [], "cells": {}, "total": None, "kept": None, "accuracy": None}
    overall = report["overall"]
    assert overall["cases"] == 10
    assert overall["category"]["cells"]["wage_theft"] == {"wage_theft": 7, "recruitment_fees": 3}
    assert overall["category"]["accuracy"] == 0.7


def test_the_latest_correction_is_the_final_value(session: Session) -> None:
    staff = make_staff(session)
    cases = [triaged_case(session, WAGES_EN, corrected_by=staff.id, category="housing") for _ in range(2)]
    for case in cases:
        override_triage(session, case, staff.id, category="wage_theft")  # back to what triage said
    session.commit()
    category = triage_confusion(session, k=2)["overall"]["category"]
    assert category["cells"] == {"wage_theft": {"wage_theft": 2}} and category["accuracy"] == 1.0


def test_the_period_counts_cases_by_their_first_triage_and_unknown_language_comes_last(session: Session) -> None:
    old = make_case(session, language="en")
    session.add(
        CaseEvent(
            case_id=old.id,
            action="triaged",
            detail={"first": True, "category": Category.HOUSING.value, "urgency": Urgency.NORMAL.value},
            created_at=datetime(2025, 3, 10, tzinfo=UTC),
        )
    )
    triaged_case(session, WAGES_EN, language=None)
    triaged_case(session, WAGES_EN)
    session.commit()
    everything = triage_confusion(session, k=1)
    assert everything["overall"]["cases"] == 3 and list(everything["languages"]) == ["en", "unknown"]
    since, until = period_bounds("2025-01..2025-03")
    assert (since, until) == (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
    only_old = triage_confusion(session, since=since, until=until, k=1)
    assert only_old["overall"]["cases"] == 1 and only_old["overall"]["category"]["labels"] == ["housing"]
    assert period_bounds("2025-12..2025-12")[1] == datetime(2026, 1, 1, tzinfo=UTC)
    empty = triage_confusion(session, since=datetime(2030, 1, 1, tzinfo=UTC), k=5)
    assert empty["overall"]["cases"] == 0 and empty["languages"] == {}


@pytest.mark.parametrize(
    ("period", "says"),
    [
        ("2026-13..2026-14", "YYYY-MM"),
        ("2026-05", "YYYY-MM..YYYY-MM"),
        ("2026-06..2026-01", "starts after it ends"),
        ("1999-01..1999-02", "out of range"),
    ],
)
def test_a_bad_period_is_refused_naming_what_is_wrong(period: str, says: str) -> None:
    with pytest.raises(TriageError, match=says):
        period_bounds(period)
