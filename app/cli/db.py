"""`flask db upgrade|downgrade`: the database schema (Alembic migrations)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import downgrade_database, upgrade_database

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database schema up to REVISION (default: head)."""
    upgrade_database(current_app.config["SQLALCHEMY_URL"], revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database schema down to REVISION."""
    downgrade_database(current_app.config["SQLALCHEMY_URL"], revision)
    click.echo(f"database at {revision}")
