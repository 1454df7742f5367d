"""Helpers for the console tests: staff with real passwords, signing a client in, cases with messages."""

from __future__ import annotations

import re
import time
from typing import Any

from flask.testing import FlaskClient
from sqlmodel import Session

from app.security import LAST_SEEN, SESSION_NONCE, SIGNED_IN_AT, create_user
from casework.models import Case, ChannelKind, Direction, Message, Role, StaffUser
from tests.factories import make_case, make_staff

PASSWORD = "correct horse battery staple"


def fetch(session: Session, statement: Any) -> list[Any]:
    """Run a select and end its transaction (SQLite's BEGIN IMMEDIATE would block the app)."""
    rows = list(session.exec(statement).all())
    session.commit()
    return rows


def staff_with_password(session: Session, role: Role, email: str, **fields: Any) -> StaffUser:
    """A committed staff user who can sign in with PASSWORD."""
    user = create_user(
        session,
        email=email,
        role=role,
        password=PASSWORD,
        languages=["en"],
        display_name=fields.pop("display_name", email.split("@")[0]),
    )
    for name, value in fields.items():
        setattr(user, name, value)
    session.add(user)
    session.commit()
    return user


def only(session: Session, statement: Any) -> Any:
    """The single row a select returns (fails otherwise), transaction ended."""
    rows = fetch(session, statement)
    assert len(rows) == 1, rows
    return rows[0]


def reload(session: Session, row: Any) -> Any:
    """Re-read `row` and end the read transaction (SQLite's BEGIN IMMEDIATE would block the app)."""
    session.refresh(row)
    session.commit()
    return row


def write_staff_session(flask_session: Any, user: StaffUser) -> None:
    """What sign-in writes into the session: Flask-Login's user id, the user's nonce, the times."""
    now = int(time.time())
    flask_session["_user_id"] = str(user.id)
    flask_session["_fresh"] = True
    flask_session[SESSION_NONCE] = user.session_nonce
    flask_session[SIGNED_IN_AT] = flask_session[LAST_SEEN] = now


def sign_in(client: FlaskClient, user: StaffUser, **session_options: Any) -> FlaskClient:
    """Put `user` in the client's session the way sign-in does (no password round trip)."""
    with client.session_transaction(**session_options) as flask_session:
        write_staff_session(flask_session, user)
    return client


def sign_in_in_browser(page: Any, live_server: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real form in a Playwright page and land on the queue."""
    page.goto(f"{live_server}/console/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{live_server}/console/")


def login_form(client: FlaskClient, email: str, password: str = PASSWORD, **extra: str) -> Any:
    return client.post("/console/login", data={"email": email, "password": password, **extra})


def add_message(
    session: Session, case: Case, body: str, *, direction: Direction = Direction.INBOUND, **fields: Any
) -> Message:
    message = Message(
        case_id=case.id,
        reporter_id=case.reporter_id,
        direction=direction,
        channel=ChannelKind.SMS,
        body=body,
        language=fields.pop("language", case.language),
        **fields,
    )
    session.add(message)
    session.flush()
    return message


def version_of(html: str) -> str:
    """The case version every form on a case page carries."""
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "no version field on the page"
    return found.group(1)


__all__ = [
    "PASSWORD",
    "add_message",
    "fetch",
    "login_form",
    "make_case",
    "make_staff",
    "only",
    "reload",
    "sign_in",
    "staff_with_password",
    "version_of",
    "write_staff_session",
]
