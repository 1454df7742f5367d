"""Who may see which case, and who may do what: admins and ombudspersons see every case, a
mediator only the cases assigned to them, an analyst no case data at all (anonymized reporting
only). Handing a case on (assignment, referral) is for admins and ombudspersons."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import false

from casework.editing import CaseworkError
from casework.models import Case, Role

Statement = TypeVar("Statement", bound=Any)

CASE_ROLES = frozenset({Role.ADMIN, Role.OMBUDSPERSON, Role.MEDIATOR})
ALL_CASES_ROLES = frozenset({Role.ADMIN, Role.OMBUDSPERSON})
# Referral hands the case to someone else (a mediator, the labour inspectorate): a managing action.
REFERRAL_ROLES = ALL_CASES_ROLES


class StaffLike(Protocol):
    """A `StaffUser` row or the console's session user: anything with an id and a role."""

    id: Any
    role: Any


class CaseAccessDenied(CaseworkError):
    """The user may not see this case (callers answer 404, so existence does not leak)."""


class ActionNotAllowed(CaseworkError):
    """The user's role may not do this to a case (callers answer 403); nothing was changed."""


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


def require_role(
    user: StaffLike | None, roles: frozenset[Role], action: str, error: type[ActionNotAllowed] = ActionNotAllowed
) -> None:
    """Raise `error` unless `user` is an active staff member with one of `roles`."""
    if user is None or getattr(user, "active", True) is False or _role(user) not in roles:
        raise error(f"{action} is for {' or '.join(sorted(r.value for r in roles))} only")


def restrict_to_visible(statement: Statement, user: StaffLike) -> Statement:
    """Narrow a select over `Case` to the cases `user` may see."""
    role = _role(user)
    if getattr(user, "active", True) is False or role is None or role not in CASE_ROLES:
        return statement.where(false())
    if role is Role.MEDIATOR:
        return statement.where(Case.assignee_id == user.id)
    return statement
