"""Who sees which case: admin/ombudsperson all, mediator own only, analyst none."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from casework.access import can_view_case, restrict_to_visible
from casework.models import Case, Role
from tests.factories import make_case, make_staff


@pytest.mark.parametrize(
    ("label", "role", "own", "active", "sees"),
    [
        ("admin sees any case", Role.ADMIN, False, True, True),
        ("ombudsperson sees any case", Role.OMBUDSPERSON, False, True, True),
        ("mediator sees own case", Role.MEDIATOR, True, True, True),
        ("mediator does not see others' cases", Role.MEDIATOR, False, True, False),
        ("analyst sees no case", Role.ANALYST, False, True, False),
        ("inactive admin sees nothing", Role.ADMIN, False, False, False),
    ],
)
def test_case_visibility_by_role(session: Session, label: str, role: Role, own: bool, active: bool, sees: bool) -> None:
    user = make_staff(session, role, active=active)
    mine = make_case(session, assignee_id=user.id if own else None)
    make_case(session)  # another case nobody in this test owns
    assert can_view_case(user, mine) is sees, label
    visible = session.exec(restrict_to_visible(select(Case), user)).all()
    assert (mine.id in {c.id for c in visible}) is sees, label
    if role is Role.MEDIATOR:
        assert all(c.assignee_id == user.id for c in visible)
    if role is Role.ANALYST or not active:
        assert visible == []
