"""SLA clocks: first-response and resolution deadlines per category and urgency (data in
`casework/data/sla.yaml`), and escalation of overdue cases to a supervisor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.datafiles import read_yaml
from casework.models import Case, Category, Role, StaffNotification, StaffUser, Urgency, utcnow
from casework.notifications import notify_sla
from casework.worklist import OPEN_STATUSES, UNRESOLVED_STATUSES, overdue_condition

DEFAULT_SLA_POLICY = Path(__file__).with_name("data") / "sla.yaml"
ESCALATION_BATCH = 500
# A clock is "nearing" once this share of it has run (from the case's opening to its deadline).
NEARING_SHARE = 0.8


class SlaPolicyError(ValueError):
    """The SLA policy file is malformed; the message names the bad entry."""


@dataclass(frozen=True)
class Clock:
    first_response: timedelta
    resolution: timedelta


@dataclass(frozen=True)
class SlaPolicy:
    default: Clock
    by_category: dict[str, Clock]
    by_urgency: dict[str, Clock]

    def clock_for(self, category: str | None, urgency: str | None) -> Clock:
        """The strictest of the default, the category's and the urgency's clocks."""
        clocks = [self.default]
        if category in self.by_category:
            clocks.append(self.by_category[category])
        if urgency in self.by_urgency:
            clocks.append(self.by_urgency[urgency])
        return Clock(first_response=min(c.first_response for c in clocks), resolution=min(c.resolution for c in clocks))


def _clock(where: str, raw: Any, base: Clock | None) -> Clock:
    if not isinstance(raw, Mapping):
        raise SlaPolicyError(f"{where}: expected first_response_hours and resolution_days")
    unknown = set(raw) - {"first_response_hours", "resolution_days"}
    if unknown:
        raise SlaPolicyError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    values: dict[str, timedelta] = {}
    for key, unit in (("first_response_hours", "hours"), ("resolution_days", "days")):
        value = raw.get(key)
        if value is None and base is not None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3650 * 24:
            raise SlaPolicyError(f"{where}.{key}: must be a positive number")
        values[key] = timedelta(**{unit: value})
    return Clock(
        first_response=values.get("first_response_hours", base.first_response if base else timedelta()),
        resolution=values.get("resolution_days", base.resolution if base else timedelta()),
    )


def parse_sla_policy(data: Any) -> SlaPolicy:
    """Validate an SLA policy mapping; raise SlaPolicyError naming the first bad entry."""
    if not isinstance(data, Mapping) or "default" not in data:
        raise SlaPolicyError("the SLA policy must be a mapping with a 'default' clock")
    unknown = set(data) - {"default", "categories", "urgency"}
    if unknown:
        raise SlaPolicyError(f"unknown section {sorted(unknown)[0]!r}")
    default = _clock("default", data["default"], None)

    def section(name: str, allowed: set[str]) -> dict[str, Clock]:
        raw = data.get(name) or {}
        if not isinstance(raw, Mapping):
            raise SlaPolicyError(f"{name}: expected a mapping")
        bad = sorted(set(raw) - allowed)
        if bad:
            raise SlaPolicyError(f"{name}.{bad[0]}: unknown; expected one of {', '.join(sorted(allowed))}")
        return {key: _clock(f"{name}.{key}", value, default) for key, value in raw.items()}

    return SlaPolicy(
        default=default,
        by_category=section("categories", {c.value for c in Category}),
        by_urgency=section("urgency", {u.value for u in Urgency}),
    )


@lru_cache(maxsize=4)
def load_sla_policy(path: str | Path = DEFAULT_SLA_POLICY) -> SlaPolicy:
    return parse_sla_policy(read_yaml(path, SlaPolicyError, "SLA policy"))


URGENCY_ORDER = (Urgency.LOW, Urgency.NORMAL, Urgency.HIGH, Urgency.CRITICAL)


def set_deadlines(case: Case, policy: SlaPolicy) -> None:
    """Set the case's deadlines from its category and urgency, counted from when it was opened.

    A deadline only ever moves earlier (a follow-up raising the urgency tightens it; nothing
    automatic loosens a promise already made).
    """
    urgency = case.urgency
    if case.needs_human_triage and URGENCY_ORDER.index(Urgency(urgency)) < URGENCY_ORDER.index(Urgency.HIGH):
        urgency = Urgency.HIGH  # nobody knows yet how urgent it is: at least the high clock
    clock = policy.clock_for(case.category, urgency)
    first_due = case.created_at + clock.first_response
    resolution_due = case.created_at + clock.resolution
    if case.first_response_due_at is None or first_due < case.first_response_due_at:
        case.first_response_due_at = first_due
    if case.resolution_due_at is None or resolution_due < case.resolution_due_at:
        case.resolution_due_at = resolution_due


def pick_supervisor(session: Session, case: Case) -> StaffUser | None:
    """An active supervisor: of the case's team if there is one, else any (ombudspersons first)."""
    supervisors = session.exec(
        select(StaffUser)
        .where(
            col(StaffUser.is_supervisor).is_(True),
            col(StaffUser.active).is_(True),
        )
        .order_by(col(StaffUser.id))
    ).all()
    if not supervisors:
        return None
    same_team = [s for s in supervisors if case.team and s.team == case.team]
    ombuds = [s for s in supervisors if s.role == Role.OMBUDSPERSON]
    return (same_team or ombuds or list(supervisors))[0]


def escalate_overdue(session: Session, now: datetime | None = None) -> list[int]:
    """Escalate overdue cases to a supervisor (audited); returns their ids.

    Idempotent: a case escalates once per clock. A case escalated for a late first response
    escalates again, once, if it later misses its resolution deadline too.
    """
    moment = now or utcnow()
    resolution_late = and_(col(Case.status).in_(UNRESOLVED_STATUSES), col(Case.resolution_due_at) < moment)
    not_yet = or_(
        col(Case.escalated_at).is_(None), and_(resolution_late, col(Case.escalated_at) < col(Case.resolution_due_at))
    )
    statement = (
        select(Case)
        .where(overdue_condition(moment), not_yet)
        .order_by(col(Case.id))
        .limit(ESCALATION_BATCH)
        .with_for_update(skip_locked=True)
    )
    escalated: list[int] = []
    for case in session.exec(statement).all():
        late_first = (
            case.first_response_at is None
            and case.first_response_due_at is not None
            and case.first_response_due_at < moment
        )
        clock = "first_response" if late_first and case.escalated_at is None else "resolution"
        supervisor = pick_supervisor(session, case)
        case.escalated_at = moment
        session.add(case)
        record_event(
            session,
            action="sla_escalated",
            case_id=case.id,
            clock=clock,
            supervisor_id=supervisor.id if supervisor else None,
            assignee_id=case.assignee_id,
        )
        notify_sla(session, case, clock=clock, breached=True)
        assert case.id is not None
        escalated.append(case.id)
    return escalated


def _nearing_clock(
    status: str,
    opened: datetime,
    first_response_at: datetime | None,
    first_due: datetime | None,
    resolution_due: datetime | None,
    moment: datetime,
) -> str | None:
    """The clock that has run NEARING_SHARE of its time (from the opening) but not all of it, if any."""
    clocks = []
    if first_response_at is None and first_due is not None:
        clocks.append(("first_response", first_due))
    if status in UNRESOLVED_STATUSES and resolution_due is not None:
        clocks.append(("resolution", resolution_due))
    for name, due in clocks:
        if opened + (due - opened) * NEARING_SHARE <= moment < due:
            return name
    return None


def warn_nearing_deadlines(session: Session, now: datetime | None = None) -> list[int]:
    """Notify about open cases whose first-response or resolution clock is nearly spent; their ids.

    Idempotent: one notification per case, clock and recipient (`casework.notifications`),
    however often the periodic check runs. Does not commit.
    """
    moment = now or utcnow()
    first_open = and_(col(Case.first_response_at).is_(None), col(Case.first_response_due_at) > moment)
    resolution_open = and_(col(Case.status).in_(UNRESOLVED_STATUSES), col(Case.resolution_due_at) > moment)
    clocks = sa_select(
        col(Case.id),
        col(Case.status),
        col(Case.created_at),
        col(Case.first_response_at),
        col(Case.first_response_due_at),
        col(Case.resolution_due_at),
    ).where(col(Case.status).in_(OPEN_STATUSES), or_(first_open, resolution_open))
    nearing: dict[int, str] = {}
    for case_id, status, opened, first_at, first_due, resolution_due in session.execute(clocks).all():
        clock = _nearing_clock(status, opened, first_at, first_due, resolution_due, moment)
        if clock is not None:
            nearing[case_id] = clock
    if nearing:
        warned_before = select(StaffNotification.case_id, StaffNotification.event_key).where(
            StaffNotification.kind == "sla_nearing", col(StaffNotification.case_id).in_(list(nearing))
        )
        for case_id, clock in session.exec(warned_before).all():
            if nearing.get(case_id) == clock:
                del nearing[case_id]
    if not nearing:
        return []
    # Lock only the cases still to notify about (two checks at once skip each other's).
    locked = (
        select(Case).where(col(Case.id).in_(list(nearing))).order_by(col(Case.id)).with_for_update(skip_locked=True)
    )
    warned: list[int] = []
    for case in session.exec(locked).all():
        assert case.id is not None
        if notify_sla(session, case, clock=nearing[case.id], breached=False):
            warned.append(case.id)
    return warned
