"""`flask triage accuracy`: the confusion tables of live use, readably, cells under k suppressed."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlmodel import Session

from tests.factories import make_staff
from tests.triage_support import triaged_case


def seed(session: Session) -> None:
    """6 English cases of a passport taken (1 corrected to housing, 5 kept) and 1 Tagalog one."""
    staff = make_staff(session)
    for _ in range(5):
        triaged_case(session, "They took my passport")
    triaged_case(session, "They took my passport", corrected_by=staff.id, category="housing", urgency="critical")
    triaged_case(session, "Kinuha ng amo ang pasaporte ko", language="tl", translation="My boss took my passport")
    session.commit()


def test_accuracy_prints_each_language_with_small_cells_suppressed(runner: FlaskCliRunner, session: Session) -> None:
    seed(session)
    result = runner.invoke(args=["triage", "accuracy"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Period: all time." in out and "Cells of fewer than 5 cases are suppressed (*)" in out
    overall, english, tagalog = out.split("\n== ")[1:]
    assert overall.startswith("all languages: 7 cases")
    # 6 kept, 1 → housing: the 1 is suppressed, and so is the 6 (else 7 - 6 gives it back).
    assert "category: 7 cases; share kept not shown" in overall
    category, urgency = overall.split("\n  urgency: ")
    rows = {line.split()[0]: line.split()[1:] for line in category.splitlines() if line.startswith("    ")}
    assert rows["automatic"] == ["\\", "final", "document_confiscation", "housing"]
    assert rows["document_confiscation"] == ["*", "*"] and rows["housing"] == ["0", "0"]
    assert urgency.startswith("7 cases; share kept not shown") and "critical" in urgency
    assert english.startswith("en: 6 cases")
    assert tagalog.startswith("tl: fewer than 5 cases")
    assert "category: fewer than 5 cases: not shown" in tagalog and "*" not in tagalog


def test_accuracy_shows_the_share_kept_when_nothing_is_suppressed(runner: FlaskCliRunner, session: Session) -> None:
    for _ in range(5):
        triaged_case(session, "They took my passport")
    session.commit()
    out = runner.invoke(args=["triage", "accuracy", "--period", "2000-01..2100-12"]).output
    assert "Period: 2000-01..2100-12 (cases first triaged then)." in out
    assert "category: kept 5 of 5 (100%)" in out and "urgency: kept 5 of 5 (100%)" in out


def test_accuracy_of_a_period_without_cases_says_so(runner: FlaskCliRunner, session: Session) -> None:
    seed(session)
    result = runner.invoke(args=["triage", "accuracy", "--period", "2020-01..2020-02"])
    assert result.exit_code == 0 and "No case was triaged in this period." in result.output


def test_a_bad_period_is_a_clear_error_naming_it(runner: FlaskCliRunner) -> None:
    for period, says in (
        ("2026-13..2026-14", "period bounds must be YYYY-MM, got '2026-13'"),
        ("2026", "period must be YYYY-MM..YYYY-MM"),
        ("2026-06..2026-01", "period starts after it ends"),
    ):
        result = runner.invoke(args=["triage", "accuracy", "--period", period])
        assert result.exit_code == 2, (period, result.output)
        assert "Invalid value for --period" in result.output and says in result.output, result.output
