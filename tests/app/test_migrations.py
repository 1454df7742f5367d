"""One Alembic chain that migrates up from empty and matches the models exactly."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

from app.db import alembic_config


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


def test_0008_makes_old_media_paths_relative_to_the_media_folder(database_url: str) -> None:
    # Raw SQL: the models describe the newest schema, not revision 0007's.
    engine = _at_revision(database_url, "0007_web_contact")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO reporter (opted_out, created_at) VALUES (false, CURRENT_TIMESTAMP)"))
        connection.execute(
            text(
                "INSERT INTO message (reporter_id, direction, channel, kind, processing_state, needs_human_translation,"
                " send_attempts, created_at) VALUES (1, 'inbound', 'whatsapp', 'report', 'processed', false, 0,"
                " CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO media_attachment (message_id, content_type, stored_path, created_at)"
                " VALUES (1, 'image/jpeg', 'media/1/2.bin', CURRENT_TIMESTAMP)"
            )
        )
    command.upgrade(alembic_config(database_url), "head")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT stored_path FROM media_attachment")).scalar_one() == "1/2.bin"
    engine.dispose()


def test_0009_sets_unproven_web_numbers_aside(database_url: str) -> None:
    engine = _at_revision(database_url, "0008_media_paths")
    with engine.begin() as connection:
        for contact, key, channel in (("token-typed", "typed", "sms"), ("token-texted", "texted", "whatsapp")):
            connection.execute(
                text(
                    "INSERT INTO reporter (contact, contact_hash, contact_channel, opted_out, created_at)"
                    " VALUES (:c, :k, :ch, false, CURRENT_TIMESTAMP)"
                ),
                {"c": contact, "k": key, "ch": channel},
            )
        for reference, reporter_id, channel in (
            ("WEB1-AAAA", 1, "web"),
            ("WEB2-BBBB", 2, "web"),
            ("SMS1-CCCC", 2, "sms"),
        ):
            connection.execute(
                text(
                    'INSERT INTO "case" (reference, status, urgency, channel, needs_human_translation, reporter_id,'
                    " pin_failures, created_at, updated_at, version) VALUES (:r, 'new', 'normal', :ch, false, :rid, 0,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
                ),
                {"r": reference, "rid": reporter_id, "ch": channel},
            )
    command.upgrade(alembic_config(database_url), "head")
    with engine.connect() as connection:
        reporters = connection.execute(text("SELECT id, contact, contact_hash FROM reporter ORDER BY id")).all()
        assert [tuple(r) for r in reporters] == [(1, None, None), (2, "token-texted", "texted")]  # 2 texted us
        pending = connection.execute(
            text(
                "SELECT c.reference, v.contact, v.contact_channel, v.code_sends FROM contact_verification v"
                ' JOIN "case" c ON c.id = v.case_id'
            )
        ).all()
        assert [tuple(p) for p in pending] == [("WEB1-AAAA", "token-typed", "sms", 0)]  # ciphertext moved as is
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


def test_0013_adds_last_sign_in_and_password_resets(database_url: str, database_template: dict[str, Any]) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "0011_triage_findings")
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    assert "password_reset" not in inspect(engine).get_table_names()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO staff_user (email, display_name, role, languages, is_supervisor, active,"
                " password_hash, failed_logins, created_at, session_nonce)"
                " VALUES ('a@tulay.test', '', 'admin', '[]', false, true, 'x', 0, CURRENT_TIMESTAMP, 'n')"
            )
        )
    command.upgrade(config, "head")
    with engine.begin() as connection:
        assert connection.execute(text("SELECT email, last_login_at FROM staff_user")).all() == [("a@tulay.test", None)]
        user_id = connection.execute(text("SELECT id FROM staff_user")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO password_reset (user_id, token_hash, created_at, expires_at)"
                " VALUES (:user_id, 'h', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"user_id": user_id},
        )
    command.downgrade(config, "0011_triage_findings")  # and back down, the reset links with it
    assert "password_reset" not in inspect(engine).get_table_names()
    assert "last_login_at" not in {c["name"] for c in inspect(engine).get_columns("staff_user")}
    command.upgrade(config, "head")
    engine.dispose()


def test_0012_fills_the_queue_keys_of_existing_cases(database_url: str, database_template: dict[str, Any]) -> None:
    # Raw SQL: the models describe the newest schema, not revision 0011's.
    engine = _at_revision(database_url, "0011_triage_findings")
    insert = text(
        'INSERT INTO "case" (reference, status, urgency, channel, needs_human_translation, needs_human_triage,'
        " reporter_id, pin_failures, created_at, updated_at, first_response_due_at, first_response_at,"
        " resolution_due_at, version)"
        " VALUES (:ref, :status, :urgency, 'sms', false, :triage, 1, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
        " :first_due, :answered, :resolution_due, 1)"
    )
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO reporter (opted_out, created_at) VALUES (false, CURRENT_TIMESTAMP)"))
        rows = [
            # unanswered: the first-response deadline runs
            ("AAAA-AAAA", "new", "critical", True, "2030-01-02 00:00:00+00:00", None, "2030-02-01 00:00:00+00:00"),
            # answered: the resolution deadline runs
            (
                "BBBB-BBBB",
                "assigned",
                "low",
                False,
                "2030-01-02 00:00:00+00:00",
                "2030-01-01 00:00:00+00:00",
                "2030-02-01 00:00:00+00:00",
            ),
            # closed: no clock
            ("CCCC-CCCC", "closed", "high", False, "2030-01-02 00:00:00+00:00", None, "2030-02-01 00:00:00+00:00"),
        ]
        for ref, status, urgency, triage, first_due, answered, resolution_due in rows:
            connection.execute(
                insert,
                {
                    "ref": ref,
                    "status": status,
                    "urgency": urgency,
                    "triage": triage,
                    "first_due": first_due,
                    "answered": answered,
                    "resolution_due": resolution_due,
                },
            )
    command.upgrade(alembic_config(database_url), "head")
    with engine.connect() as connection:
        found = connection.execute(
            text('SELECT reference, queue_rank, queue_due_at, reporter_wrote_back_at FROM "case" ORDER BY reference')
        ).all()
    engine.dispose()
    ranks = [(ref, rank, wrote) for ref, rank, _, wrote in found]
    assert ranks == [("AAAA-AAAA", 0, None), ("BBBB-BBBB", 13, None), ("CCCC-CCCC", 11, None)]
    dues = [str(due)[:10] if due is not None else None for _, _, due, _ in found]
    assert dues == ["2030-01-02", "2030-02-01", None]
