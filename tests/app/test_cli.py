"""Operator commands: staff users, API tokens, demo seed, migrations, catalogs."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlmodel import Session, col, select

from app.security import user_for_token, verify_password
from casework.models import (
    Case,
    DeliveryStatus,
    Direction,
    Message,
    ProcessingState,
    Reporter,
    Role,
    RoutingRuleSet,
    StaffUser,
)
from casework.mt.apertium import installed_modes


def test_users_create_with_password_from_stdin(runner: FlaskCliRunner, session: Session) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Ana@Example.org",
            "--role",
            "mediator",
            "--password-stdin",
            "--language",
            "es",
            "--language",
            "tl",
        ],
        input="correct horse battery\n",
    )
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


def test_demo_seed_saves_rules_and_runs_sample_reports_through_the_pipeline_once(
    runner: FlaskCliRunner, session: Session
) -> None:
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "saved the defaults as version" in first.output and "sample cases: 5 created" in first.output
    assert len(session.exec(select(RoutingRuleSet)).all()) == 1
    cases = session.exec(select(Case).order_by(col(Case.id))).all()
    assert [c.language for c in cases] == ["es", "tl", "ne", "en", "es"]
    assert [c.channel for c in cases] == ["sms", "whatsapp", "sms", "sms", "whatsapp"]
    assert [c.category for c in cases] == [
        "wage_theft",
        "forced_labour",  # Riyadh: passport held and not allowed out of the house
        "wage_theft",
        "recruitment_fees",
        "unsafe_work",
    ], "the real triage ran on each report"
    assert cases[1].urgency == "critical", "documents held plus confinement is danger now"
    assert all(c.route is not None and c.first_response_due_at for c in cases)
    no_spanish_mt = "spa-eng" not in installed_modes()
    assert [c.needs_human_translation for c in cases] == [no_spanish_mt, True, True, False, no_spanish_mt], (
        "no MT for tl and ne here: flagged for a human, not shown as translated"
    )
    assert all(c.reference in first.output for c in cases)
    inbound = session.exec(select(Message).where(Message.direction == Direction.INBOUND)).all()
    assert len(inbound) == 5 and {m.processing_state for m in inbound} == {ProcessingState.PROCESSED}
    assert all(m.contact.startswith("+1555") for m in session.exec(select(Reporter)).all())
    english = next(m for m in inbound if m.language == "en")
    assert english.translation_engine == "identity" and not english.needs_human_translation
    outbound = session.exec(select(Message).where(Message.direction == Direction.OUTBOUND)).all()
    assert len(outbound) == 5 and all(m.kind == "ack" for m in outbound)
    assert {(m.delivery_status, m.delivery_error_code) for m in outbound} == {(DeliveryStatus.SUPPRESSED, "demo")}, (
        "no acknowledgement goes out to a fictional number"
    )
    session.commit()

    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert "password:" not in second.output and "sample cases already exist" in second.output
    assert "already saved, version" in second.output
    assert len(session.exec(select(Case)).all()) == 5 and len(session.exec(select(Message)).all()) == 10
    assert len(session.exec(select(RoutingRuleSet)).all()) == 1


def test_translate_compile(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["translate", "compile"])
    assert result.exit_code == 0 and "compiled" in result.output
