"""Fixtures for the console tests (tests/app/test_console*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from app.db import get_session_factory
from casework.models import Role, StaffUser
from tests.app.console_support import make_staff, sign_in


# The shared `app` fixture keeps one app context pushed for the whole test, so `g` (the request's
# DB session, Flask-Login's cached user) would leak from one request to the next. These fixtures
# serve the console the way production does: a fresh app context per request.
@pytest.fixture
def capp(make_app: Any) -> Flask:
    application: Flask = make_app()
    return application


@pytest.fixture
def db(capp: Flask) -> Iterator[Session]:
    with get_session_factory(capp)() as db_session:
        yield db_session


@pytest.fixture
def web(capp: Flask) -> FlaskClient:
    return capp.test_client()


@pytest.fixture
def ombud(db: Session) -> StaffUser:
    """An ombudsperson who reads English and Tagalog (tests may define their own)."""
    user = make_staff(db, Role.OMBUDSPERSON, languages=["en", "tl"])
    db.commit()
    return user


@pytest.fixture
def staff_client(web: FlaskClient, ombud: StaffUser) -> FlaskClient:
    """A client signed in as `ombud`."""
    return sign_in(web, ombud)
