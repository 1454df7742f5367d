"""SLA clocks from data, and idempotent escalation of overdue cases to a supervisor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from casework.models import CaseEvent, CaseStatus, Role, utcnow
from casework.sla import SlaPolicyError, escalate_overdue, load_sla_policy, parse_sla_policy, set_deadlines
from tests.factories import make_case, make_staff

POLICY = load_sla_policy()


@pytest.mark.parametrize(
    ("label", "category", "urgency", "first_hours", "resolution_days"),
    [
        ("default", "wage_theft", "normal", 48, 60),
        ("critical urgency wins", "wage_theft", "critical", 2, 14),
        ("forced labour category is strict", "forced_labour", "normal", 4, 30),
        ("strictest of category and urgency", "forced_labour", "high", 4, 30),
        ("low urgency never loosens the default", None, "low", 48, 60),
    ],
)
def test_deadlines_take_the_strictest_clock(
    session: Session, label: str, category: str | None, urgency: str, first_hours: int, resolution_days: int
) -> None:
    case = make_case(session, category=category, urgency=urgency)
    set_deadlines(case, POLICY)
    assert case.first_response_due_at == case.created_at + timedelta(hours=first_hours), label
    assert case.resolution_due_at == case.created_at + timedelta(days=resolution_days), label


def test_deadlines_only_move_earlier(session: Session) -> None:
    case = make_case(session, category="wage_theft", urgency="critical")
    set_deadlines(case, POLICY)
    tight = case.first_response_due_at
    case.urgency = "normal"
    set_deadlines(case, POLICY)
    assert case.first_response_due_at == tight


@pytest.mark.parametrize(
    ("label", "data", "message"),
    [
        ("no default", {}, "'default' clock"),
        ("negative hours", {"default": {"first_response_hours": -1, "resolution_days": 5}}, "positive number"),
        (
            "unknown urgency",
            {
                "default": {"first_response_hours": 1, "resolution_days": 5},
                "urgency": {"panic": {"first_response_hours": 1}},
            },
            "urgency.panic",
        ),
        ("unknown key", {"default": {"first_response_hours": 1, "resolution_days": 5, "x": 1}}, "unknown key 'x'"),
    ],
)
def test_bad_sla_policy_names_the_entry(label: str, data: object, message: str) -> None:
    with pytest.raises(SlaPolicyError, match=message):
        parse_sla_policy(data)


def test_escalation_marks_overdue_cases_once_with_a_supervisor(session: Session) -> None:
    supervisor = make_staff(session, Role.OMBUDSPERSON, is_supervisor=True, team="investigations")
    make_staff(session, Role.OMBUDSPERSON, is_supervisor=True, team="other")
    now = utcnow()
    late = make_case(session, team="investigations", first_response_due_at=now - timedelta(minutes=5))
    late_resolution = make_case(
        session,
        status=CaseStatus.INVESTIGATING,
        first_response_at=now,
        first_response_due_at=now - timedelta(days=3),
        resolution_due_at=now - timedelta(minutes=1),
    )
    on_time = make_case(session, first_response_due_at=now + timedelta(hours=1))
    answered = make_case(session, first_response_due_at=now - timedelta(hours=1), first_response_at=now)
    closed = make_case(session, status=CaseStatus.CLOSED, first_response_due_at=now - timedelta(days=1))
    session.commit()
    assert sorted(escalate_overdue(session, now)) == sorted([late.id, late_resolution.id])
    session.commit()
    assert escalate_overdue(session, now + timedelta(minutes=1)) == []
    events = {e.case_id: e.detail for e in session.exec(select(CaseEvent).where(CaseEvent.action == "sla_escalated"))}
    assert events[late.id]["supervisor_id"] == supervisor.id and events[late.id]["clock"] == "first_response"
    assert events[late_resolution.id]["clock"] == "resolution"
    assert not {on_time.id, answered.id, closed.id} & set(events)
    assert late.escalated_at == now


def test_a_case_escalated_for_first_response_escalates_again_when_resolution_is_late(session: Session) -> None:
    make_staff(session, Role.OMBUDSPERSON, is_supervisor=True)
    now = utcnow()
    case = make_case(session, first_response_due_at=now - timedelta(hours=1), resolution_due_at=now + timedelta(days=1))
    session.commit()
    assert escalate_overdue(session, now) == [case.id]
    case.first_response_at = now
    session.commit()
    assert escalate_overdue(session, now + timedelta(hours=2)) == []
    later = now + timedelta(days=2)
    assert escalate_overdue(session, later) == [case.id]
    session.commit()
    assert escalate_overdue(session, later + timedelta(hours=1)) == []
    clocks = [
        e.detail["clock"]
        for e in session.exec(select(CaseEvent).where(CaseEvent.action == "sla_escalated").order_by(CaseEvent.id))
    ]
    assert clocks == ["first_response", "resolution"]
