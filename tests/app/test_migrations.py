"""One Alembic chain that migrates up from empty and matches the models exactly."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
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
