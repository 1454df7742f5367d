"""One Alembic chain that migrates up from empty and matches the models exactly."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlmodel import Session, SQLModel, select

from app.db import alembic_config
from casework.models import Case, ContactVerification, MediaAttachment, Message, Reporter


def test_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migration chain has several heads: {heads}"


def test_migrated_schema_matches_models(database_url: str) -> None:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ (write a migration): {diff}"


def test_downgrade_to_empty_and_up_again(database_url: str, database_template: dict[str, Any]) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert "case" in inspect(engine).get_table_names()
    engine.dispose()


def _at_revision(database_url: str, revision: str) -> Any:
    command.downgrade(alembic_config(database_url), revision)
    return create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))


def test_0008_makes_old_media_paths_relative_to_the_media_folder(app: Any, database_url: str) -> None:
    engine = _at_revision(database_url, "0007_web_contact")
    with Session(engine) as session:
        reporter = Reporter(contact="+639171234567", contact_hash="h1")
        session.add(reporter)
        session.flush()
        message = Message(reporter_id=reporter.id, direction="inbound", channel="whatsapp", body="photo")
        session.add(message)
        session.flush()
        session.add(MediaAttachment(message_id=message.id, content_type="image/jpeg", stored_path="media/1/2.bin"))
        session.commit()
    command.upgrade(alembic_config(database_url), "head")
    with Session(engine) as session:
        assert session.exec(select(MediaAttachment.stored_path)).one() == "1/2.bin"
    engine.dispose()


def test_0009_sets_unproven_web_numbers_aside(app: Any, database_url: str) -> None:
    engine = _at_revision(database_url, "0008_media_paths")
    with Session(engine) as session:
        typed = Reporter(contact="+15555550142", contact_hash="typed", contact_channel="sms")
        texted = Reporter(contact="+15555550143", contact_hash="texted", contact_channel="whatsapp")
        session.add_all([typed, texted])
        session.flush()
        for reference, reporter, channel in (
            ("WEB1-AAAA", typed, "web"),
            ("WEB2-BBBB", texted, "web"),
            ("SMS1-CCCC", texted, "sms"),
        ):
            session.add(Case(reference=reference, reporter_id=reporter.id, channel=channel))
        session.commit()
        typed_id, texted_id = typed.id, texted.id
    command.upgrade(alembic_config(database_url), "head")
    with Session(engine) as session:
        typed, texted = session.get_one(Reporter, typed_id), session.get_one(Reporter, texted_id)
        assert (typed.contact, typed.contact_hash) == (None, None)
        assert (texted.contact, texted.contact_hash) == ("+15555550143", "texted")  # proven by their own SMS
        [pending] = session.exec(select(ContactVerification)).all()
        assert (pending.contact, pending.contact_channel, pending.code_sends) == ("+15555550142", "sms", 0)
        assert session.get_one(Case, pending.case_id).reference == "WEB1-AAAA"
    engine.dispose()


def test_existing_staff_get_their_own_session_nonce(database_url: str, database_template: dict[str, Any]) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "0009_contact_verification")
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        for email in ("a@tulay.test", "b@tulay.test"):
            connection.execute(
                text(
                    "INSERT INTO staff_user (email, display_name, role, languages, is_supervisor, active,"
                    " password_hash, failed_logins, created_at)"
                    " VALUES (:email, '', 'admin', '[]', false, true, 'x', 0, CURRENT_TIMESTAMP)"
                ),
                {"email": email},
            )
    command.upgrade(config, "head")
    with engine.connect() as connection:
        nonces = connection.execute(text("SELECT session_nonce FROM staff_user")).scalars().all()
    engine.dispose()
    assert len(nonces) == 2 and all(len(nonce) >= 32 for nonce in nonces) and nonces[0] != nonces[1]
