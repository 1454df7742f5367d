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


def test_existing_staff_get_their_own_session_nonce(database_url: str, database_template: dict[str, Any]) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "0008_media_paths")
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
