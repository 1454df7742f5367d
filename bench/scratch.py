"""A throwaway PostgreSQL database for a benchmark (or a test run): created, then dropped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def sqlalchemy_url(url: str) -> str:
    """`url` with the psycopg 3 driver SQLAlchemy needs (plain postgresql:// means psycopg2 there)."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


@contextmanager
def scratch_database(server_url: str, prefix: str = "tulay_bench", keep: bool = False) -> Iterator[str]:
    """Create an empty database on the server at `server_url`; yield its SQLAlchemy URL; drop it after."""
    admin_url = sqlalchemy_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            if not keep:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
