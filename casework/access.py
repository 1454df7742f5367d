"""Who may see which case: admins and ombudspersons see every case, a mediator only the cases
assigned to them, an analyst no case data at all (anonymized reporting only)."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import false

from casework.editing import CaseworkError
from casework.models import Case, Role

Statement = TypeVar("Statement", bound=Any)

CASE_ROLES = frozenset({Role.ADMIN, Role.OMBUDSPERSON, Role.MEDIATOR})
ALL_CASES_ROLES = frozenset({Role.ADMIN, Role.OMBUDSPERSON})


class StaffLike(Protocol):
    """A `StaffUser` row or the console's session user: anything with an id and a role."""

    id: Any
    role: Any


class CaseAccessDenied(CaseworkError):
    """The user may not see this case (callers answer 404, so existence does not leak)."""


def _role(user: StaffLike) -> Role | None:
    try:
        return Role(user.role)
    except ValueError:
        return None


def can_view_case(user: StaffLike, case: Case) -> bool:
    if getattr(user, "active", True) is False:
        return False
    role = _role(user)
    if role in ALL_CASES_ROLES:
        return True
    return role is Role.MEDIATOR and case.assignee_id is not None and case.assignee_id == user.id


def require_case_access(user: StaffLike, case: Case) -> None:
    """Raise CaseAccessDenied unless `user` may see `case`."""
    if not can_view_case(user, case):
        raise CaseAccessDenied("case not found")


def restrict_to_visible(statement: Statement, user: StaffLike) -> Statement:
    """Narrow a select over `Case` to the cases `user` may see."""
    role = _role(user)
    if getattr(user, "active", True) is False or role is None or role not in CASE_ROLES:
        return statement.where(false())
    if role is Role.MEDIATOR:
        return statement.where(Case.assignee_id == user.id)
    return statement
