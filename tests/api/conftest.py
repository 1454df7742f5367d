"""API fixtures: one staff user (and bearer token) per role, and a JSON client helper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session

from app.security import issue_api_token
from casework.models import Role, StaffUser
from tests.factories import make_staff


@dataclass
class Actor:
    user: StaffUser
    token: str

    @property
    def id(self) -> int:
        assert self.user.id is not None
        return self.user.id


@dataclass
class Api:
    client: FlaskClient
    actors: dict[str, Actor]

    def call(self, method: str, path: str, who: str | None, json: Any = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.actors[who].token}"} if who else {}
        return self.client.open(path, method=method, headers=headers, json=json, **kwargs)


@pytest.fixture
def api(client: FlaskClient, session: Session) -> Api:
    actors: dict[str, Actor] = {}
    for label, role in (
        ("admin", Role.ADMIN),
        ("ombudsperson", Role.OMBUDSPERSON),
        ("mediator", Role.MEDIATOR),
        ("other_mediator", Role.MEDIATOR),
        ("analyst", Role.ANALYST),
    ):
        user = make_staff(session, role, languages=["en", "tl"])
        actors[label] = Actor(user, issue_api_token(session, user))
    session.commit()
    return Api(client, actors)
