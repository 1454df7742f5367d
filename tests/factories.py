"""Plain factory functions for tests: staff users and cases with a reporter (flushed, not committed)."""

from __future__ import annotations

import itertools
from typing import Any

from sqlmodel import Session

from casework import cases
from casework.models import Case, Reporter, Role, StaffUser

_counter = itertools.count(1)


def make_staff(
    session: Session,
    role: Role | str = Role.OMBUDSPERSON,
    *,
    languages: list[str] | None = None,
    active: bool = True,
    team: str | None = None,
    is_supervisor: bool = False,
    email: str | None = None,
    interface_language: str | None = None,
) -> StaffUser:
    """A staff user; the password hash is a placeholder (these users never sign in)."""
    n = next(_counter)
    user = StaffUser(
        email=email or f"staff{n}@tulay.test",
        display_name=f"Staff {n}",
        role=Role(role),
        languages=languages if languages is not None else ["en"],
        team=team,
        is_supervisor=is_supervisor,
        active=active,
        interface_language=interface_language,
        password_hash="!not-a-hash",
    )
    session.add(user)
    session.flush()
    return user


def make_case(
    session: Session,
    *,
    contact: str | None = "+639171234567",
    language: str = "tl",
    channel: str = "sms",
    **fields: Any,
) -> Case:
    """A case opened for a fresh reporter; extra keyword arguments set case fields."""
    reporter = Reporter(contact=contact, contact_hash=f"h{next(_counter)}" if contact else None, language=language)
    session.add(reporter)
    session.flush()
    case = cases.open_case(session, reporter=reporter, channel=channel, language=language)
    for name, value in fields.items():
        setattr(case, name, value)
    session.add(case)
    session.flush()
    return case
