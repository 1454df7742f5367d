"""Operator commands: staff users, API tokens, demo seed, migrations, catalogs."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlmodel import Session, select

from app.security import user_for_token, verify_password
from casework.models import Role, StaffUser


def test_users_create_with_password_from_stdin(runner: FlaskCliRunner, session: Session) -> None:
    result = runner.invoke(args=["users", "create", "Ana@Example.org", "--role", "mediator", "--password-stdin",
                                 "--language", "es", "--language", "tl"], input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    assert "password:" not in result.output
    user = session.exec(select(StaffUser)).one()
    assert user.email == "ana@example.org" and user.role == Role.MEDIATOR
    assert user.languages == ["es", "tl"]
    assert verify_password(user, "correct horse battery")
    assert "correct horse" not in user.password_hash


def test_users_create_generates_and_prints_a_password(runner: FlaskCliRunner, session: Session) -> None:
    result = runner.invoke(args=["users", "create", "b@example.org", "--role", "admin"])
    assert result.exit_code == 0
    password = result.output.split("password: ")[1].strip()
    assert verify_password(session.exec(select(StaffUser)).one(), password)


def test_users_create_refuses_bad_input_and_changes_nothing(runner: FlaskCliRunner, session: Session) -> None:
    cases = [
        (["users", "create", "x@example.org", "--role", "king"], "king"),
        (["users", "create", "not-an-email", "--role", "admin"], "e-mail"),
        (["users", "create", "x@example.org", "--role", "admin", "--language", "xx"], "xx"),
        (["users", "create", "x@example.org", "--role", "admin", "--password-stdin"], "at least 12"),
    ]
    for args, named in cases:
        result = runner.invoke(args=args, input="short\n")
        assert result.exit_code != 0, args
        assert named in result.output, (args, result.output)
    assert session.exec(select(StaffUser)).all() == []


def test_duplicate_user_is_refused(runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["users", "create", "a@example.org", "--role", "admin"]).exit_code == 0
    again = runner.invoke(args=["users", "create", "A@example.org", "--role", "analyst"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_api_token_is_printed_once_and_stored_hashed(runner: FlaskCliRunner, session: Session) -> None:
    runner.invoke(args=["users", "create", "a@example.org", "--role", "ombudsperson"])
    result = runner.invoke(args=["api-token", "a@example.org"])
    token = result.output.strip()
    assert result.exit_code == 0 and token.startswith("tly_")
    user = user_for_token(session, token)
    assert user is not None and user.email == "a@example.org"
    assert user_for_token(session, token + "x") is None
    session.commit()  # records last_used_at, and ends this transaction before the CLI writes
    missing = runner.invoke(args=["api-token", "nobody@example.org"])
    assert missing.exit_code != 0 and "no active staff user" in missing.output


def test_demo_seed_prints_passwords_only_once(runner: FlaskCliRunner, session: Session) -> None:
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0 and first.output.count("password:") == 4
    second = runner.invoke(args=["demo", "seed"])
    assert "password:" not in second.output
    roles = {u.role for u in session.exec(select(StaffUser)).all()}
    assert roles == {r.value for r in Role}


def test_translate_compile(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["translate", "compile"])
    assert result.exit_code == 0 and "compiled" in result.output
