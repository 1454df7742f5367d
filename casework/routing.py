"""Assignment of cases to staff: by hand (`assign_case`), or by the routing rules (`route_case`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from casework.audit import record_event
from casework.cases import transition
from casework.editing import CaseworkError, check_editable
from casework.models import Case, CaseStatus, Role, Route, StaffUser, utcnow
from casework.notes import reason_detail

# Who can hold a case on each route: investigation is an ombudsperson's work, mediation a
# mediator's; an untriaged case (no route yet) goes to an ombudsperson.
ROLES_FOR_ROUTE: dict[Route | None, frozenset[Role]] = {
    Route.OMBUDSPERSON: frozenset({Role.OMBUDSPERSON}),
    Route.MEDIATION: frozenset({Role.MEDIATOR}),
    None: frozenset({Role.OMBUDSPERSON}),
}


class AssignmentError(CaseworkError):
    """The case cannot be assigned to that user (inactive, wrong role, closed case, …)."""


def roles_for(route: Route | str | None) -> frozenset[Role]:
    return ROLES_FOR_ROUTE[Route(route) if route else None]


def assign_case(session: Session, case: Case, assignee_id: int, actor_id: int | None, reason: str | None = None,
                *, expected_version: int | None = None, now: datetime | None = None) -> Case:
    """Assign (or transfer) `case` to `assignee_id`; a new or triaged case becomes assigned.

    Raises AssignmentError (inactive or wrong-role user, closed case, same assignee) or
    StaleCase, and changes nothing then.
    """
    check_editable(case, expected_version, error=AssignmentError)
    assignee = session.get(StaffUser, assignee_id) if isinstance(assignee_id, int) else None
    if assignee is None:
        raise AssignmentError(f"no staff user with id {assignee_id!r}")
    if not assignee.active:
        raise AssignmentError(f"{assignee.display_name or assignee.email} is inactive and cannot take cases")
    allowed = roles_for(case.route)
    if Role(assignee.role) not in allowed:
        route = case.route or "untriaged"
        raise AssignmentError(f"{route} cases go to role {' or '.join(sorted(allowed))}; "
                              f"this user's role is {assignee.role}")
    if case.assignee_id == assignee.id:
        raise AssignmentError("the case is already assigned to this user")
    detail = reason_detail(session, case, actor_id, reason)
    previous = case.assignee_id
    case.assignee_id = assignee.id
    case.updated_at = now or utcnow()
    session.add(case)
    if case.status in (CaseStatus.NEW, CaseStatus.TRIAGED):
        transition(session, case, CaseStatus.ASSIGNED, actor_id=actor_id, reason="assigned", now=now)
    record_event(session, action="case_transferred" if previous else "case_assigned", case_id=case.id,
                 actor_id=actor_id, actor_kind="staff" if actor_id else "system",
                 **{"from": previous, "to": assignee.id}, **detail)
    return case
