"""`flask users list | deactivate | set-role | reset-password | reset-totp`: real database.

An unknown e-mail or role exits non-zero, names the problem and changes nothing."""

from __future__ import annotations

import hashlib
import re

import pytest
from flask.testing import FlaskCliRunner
from sqlmodel import Session, col, select

from app.security import create_user, issue_api_token, user_for_token
from casework.models import ApiToken, CaseEvent, PasswordReset, Role, StaffUser

PASSWORD = "correct horse battery staple"


def _user(session: Session, email: str, role: Role = Role.OMBUDSPERSON, **fields: object) -> StaffUser:
    user = create_user(session, email=email, role=role, password=PASSWORD, languages=["en"])
    for name, value in fields.items():
        setattr(user, name, value)
    session.add(user)
    session.commit()
    return user


def _state(session: Session) -> list[tuple[object, ...]]:
    session.expire_all()
    users = session.exec(select(StaffUser).order_by(col(StaffUser.id))).all()
    state = [(u.email, u.role, u.active, u.totp_secret, u.password_hash, u.session_nonce) for u in users]
    state.append((len(session.exec(select(PasswordReset)).all()), len(session.exec(select(CaseEvent)).all())))
    session.commit()
    return state


def test_list_shows_accounts_without_secrets(runner: FlaskCliRunner, session: Session) -> None:
    _user(session, "ana@tulay.test", Role.ADMIN, totp_secret="JBSWY3DPEHPK3PXP")
    gone = _user(session, "ben@tulay.test", Role.MEDIATOR)
    gone.active = False
    session.add(gone)
    session.commit()
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["email", "role", "active", "totp", "last", "login"]
    assert lines[1].split() == ["ana@tulay.test", "admin", "yes", "on", "never"]
    assert lines[2].split() == ["ben@tulay.test", "mediator", "no", "off", "never"]
    assert "argon2" not in result.output and "JBSWY3DPEHPK3PXP" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deactivate", "nobody@tulay.test"], "no staff user with e-mail nobody@tulay.test"),
        (["set-role", "nobody@tulay.test", "admin"], "no staff user with e-mail nobody@tulay.test"),
        (["set-role", "ana@tulay.test", "wizard"], "unknown role 'wizard'"),
        (["reset-password", "nobody@tulay.test"], "no staff user with e-mail nobody@tulay.test"),
        (["reset-totp", "nobody@tulay.test"], "no staff user with e-mail nobody@tulay.test"),
        (["deactivate", "ana@tulay.test"], "last active admin"),
        (["set-role", "ana@tulay.test", "analyst"], "last active admin"),
    ],
)
def test_errors_name_the_problem_and_change_nothing(
    runner: FlaskCliRunner, session: Session, args: list[str], message: str
) -> None:
    _user(session, "ana@tulay.test", Role.ADMIN, totp_secret="JBSWY3DPEHPK3PXP")
    before = _state(session)
    result = runner.invoke(args=["users", *args])
    assert result.exit_code != 0 and message in result.output, result.output
    assert _state(session) == before


def test_deactivate_revokes_tokens_at_once(runner: FlaskCliRunner, session: Session) -> None:
    user = _user(session, "omb@tulay.test")
    token = issue_api_token(session, user)
    session.commit()
    nonce = user.session_nonce
    result = runner.invoke(args=["users", "deactivate", "OMB@tulay.test"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert user_for_token(session, token) is None
    assert session.exec(select(ApiToken)).one().revoked_at is not None
    assert (user.active, user.session_nonce != nonce) == (False, True)
    event = session.exec(select(CaseEvent)).one()
    assert (event.action, event.actor_kind, event.actor_id) == ("staff_deactivated", "system", None)
    session.commit()  # end the read (SQLite would block the command)
    again = runner.invoke(args=["users", "deactivate", "omb@tulay.test"])
    assert again.exit_code != 0 and "already deactivated" in again.output


def test_reactivate_lets_a_deactivated_user_in_again(runner: FlaskCliRunner, session: Session) -> None:
    user = _user(session, "omb@tulay.test")
    session.commit()
    assert runner.invoke(args=["users", "reactivate", "omb@tulay.test"]).exit_code != 0  # still active
    assert runner.invoke(args=["users", "deactivate", "omb@tulay.test"]).exit_code == 0
    result = runner.invoke(args=["users", "reactivate", "omb@tulay.test"])
    assert result.exit_code == 0 and "reactivated omb@tulay.test" in result.output
    session.expire_all()
    assert user.active is True
    actions = [e.action for e in session.exec(select(CaseEvent).order_by(CaseEvent.id)).all()]
    assert actions == ["staff_deactivated", "staff_reactivated"]
    session.commit()


def test_set_role_and_reset_totp(runner: FlaskCliRunner, session: Session) -> None:
    user = _user(session, "omb@tulay.test", totp_secret="JBSWY3DPEHPK3PXP")
    result = runner.invoke(args=["users", "set-role", "omb@tulay.test", "Mediator"])
    assert result.exit_code == 0 and "now mediator" in result.output, result.output
    result = runner.invoke(args=["users", "reset-totp", "omb@tulay.test"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert (user.role, user.totp_secret) == (Role.MEDIATOR, None)
    actions = list(session.exec(select(CaseEvent.action).order_by(col(CaseEvent.id))).all())
    assert actions == ["staff_role_changed", "staff_totp_reset"]


def test_reset_password_prints_a_one_time_link_stored_as_a_hash(runner: FlaskCliRunner, session: Session) -> None:
    _user(session, "omb@tulay.test")
    result = runner.invoke(args=["users", "reset-password", "omb@tulay.test"])
    assert result.exit_code == 0, result.output
    found = re.search(r"^https://tulay\.test/console/password-reset/(tlr_[\w-]{43})$", result.output, re.MULTILINE)
    assert found, result.output
    row = session.exec(select(PasswordReset)).one()
    assert row.token_hash == hashlib.sha256(found.group(1).encode()).hexdigest()
    assert row.used_at is None and (row.expires_at - row.created_at).total_seconds() == 3600
