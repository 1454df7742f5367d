"""Queue filters: validation and what each filter selects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from casework.models import CaseStatus, Role, Route, Urgency, utcnow
from casework.worklist import InvalidFilter, QueueFilters, list_cases
from tests.factories import make_case, make_staff


@pytest.mark.parametrize(
    ("label", "args", "message"),
    [
        ("unknown status", {"status": "lost"}, "status must be one of"),
        ("unknown route", {"route": "court"}, "route must be one of"),
        ("bad boolean", {"overdue": "maybe"}, "overdue must be true or false"),
        ("page zero", {"page": "0"}, "page must be between"),
        ("huge page size", {"per_page": "100000"}, "per_page must be between"),
        ("text assignee", {"assignee_id": "bob"}, "assignee_id must be a whole number"),
        ("script in reference search", {"q": "<script>"}, "q must be (part of) a case reference"),
        ("unknown filter", {"colour": "red"}, "unknown filter 'colour'"),
        ("bad language", {"language": "e$"}, "language must be a language code"),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message(label: str, args: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidFilter, match=message.replace("(", r"\(").replace(")", r"\)")):
        QueueFilters.from_args(args)


def test_filters_parse_query_string_values() -> None:
    filters = QueueFilters.from_args(
        {
            "route": "Mediation",
            "status": "assigned",
            "urgency": "critical",
            "language": "TL",
            "overdue": "1",
            "needs_human_translation": "false",
            "assignee_id": "none",
            "q": "k7m2 9q",
            "page": "2",
            "per_page": "10",
        }
    )
    assert filters == QueueFilters(
        route=Route.MEDIATION,
        status=CaseStatus.ASSIGNED,
        urgency=Urgency.CRITICAL,
        language="tl",
        overdue=True,
        needs_human_translation=False,
        assignee_id=0,
        q="K7M2-9Q",
        page=2,
        per_page=10,
    )
    assert QueueFilters.from_args({"status": "", "overdue": ""}) == QueueFilters()


def test_each_filter_selects_its_cases(session: Session) -> None:
    admin = make_staff(session, Role.ADMIN)
    worker = make_staff(session, Role.OMBUDSPERSON)
    now = utcnow()
    late = make_case(session, urgency=Urgency.CRITICAL, first_response_due_at=now - timedelta(hours=1))
    answered = make_case(
        session,
        first_response_due_at=now - timedelta(hours=1),
        first_response_at=now,
        resolution_due_at=now + timedelta(days=3),
    )
    human = make_case(session, language="am", needs_human_translation=True, route=Route.MEDIATION)
    mine = make_case(session, assignee_id=worker.id, status=CaseStatus.ASSIGNED, route=Route.OMBUDSPERSON)
    closed = make_case(session, status=CaseStatus.CLOSED, first_response_due_at=now - timedelta(days=9))
    session.commit()

    def ids(**args: str) -> set[int | None]:
        rows, total = list_cases(session, admin, QueueFilters.from_args(args), now=now)
        assert total == len(rows)
        return {row.case.id for row in rows}

    assert ids() == {late.id, answered.id, human.id, mine.id, closed.id}
    assert ids(overdue="true") == {late.id}
    assert late.id not in ids(overdue="false")
    assert ids(urgency="critical") == {late.id}
    assert ids(needs_human_translation="true") == {human.id}
    assert ids(language="am") == {human.id}
    assert ids(route="mediation") == {human.id}
    assert ids(assignee_id=str(worker.id)) == {mine.id}
    assert mine.id not in ids(assignee_id="none")
    assert ids(status="closed") == {closed.id}
    assert ids(q=mine.reference.lower().replace("-", "")[:6]) >= {mine.id}
    rows, _ = list_cases(session, admin, QueueFilters(assignee_id=worker.id), now=now)
    assert rows[0].assignee_name == worker.display_name and rows[0].overdue is False
    late_row = list_cases(session, admin, QueueFilters(overdue=True), now=now)[0][0]
    assert late_row.overdue is True


def test_pages_are_newest_first_and_total_counts_all(session: Session) -> None:
    admin = make_staff(session, Role.ADMIN)
    made = [make_case(session, created_at=utcnow() + timedelta(seconds=i)) for i in range(5)]
    session.commit()
    first, total = list_cases(session, admin, QueueFilters(per_page=2, sort="newest"))
    second, _ = list_cases(session, admin, QueueFilters(per_page=2, page=2, sort="newest"))
    assert total == 5
    assert [r.case.id for r in first + second] == [c.id for c in reversed(made)][:4]


def test_mediator_queue_holds_only_their_cases_and_analyst_sees_none(session: Session) -> None:
    mediator = make_staff(session, Role.MEDIATOR)
    analyst = make_staff(session, Role.ANALYST)
    own = make_case(session, assignee_id=mediator.id, route=Route.MEDIATION)
    make_case(session)
    session.commit()
    rows, total = list_cases(session, mediator, QueueFilters())
    assert [r.case.id for r in rows] == [own.id] and total == 1
    assert list_cases(session, analyst, QueueFilters()) == ([], 0)


def test_assignee_id_beyond_a_database_integer_is_refused() -> None:
    with pytest.raises(InvalidFilter, match="assignee_id"):
        QueueFilters.from_args({"assignee_id": str(2**31)})
