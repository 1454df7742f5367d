"""The database: one engine and one session factory per app, a session per request
(`get_session`), and `session_scope()` for jobs and commands. Data functions never commit;
these owners do. Every session comes from the app's factory, which carries the job dispatch
hooks (`app/dispatch.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, create_engine

from app.files import private_file, tighten

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["sqlalchemy_url"] = url
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Migrate the schema at `url` up to `revision` (the Procfile's release step runs this)."""
    alembic_command.upgrade(alembic_config(url), revision)


def downgrade_database(url: str, revision: str) -> None:
    alembic_command.downgrade(alembic_config(url), revision)


def _private_sqlite_file(url: str) -> None:
    """Create the database file 0600 before SQLite does, which would follow the umask; SQLite
    gives its -wal and -shm files the database file's mode. A missing folder is not created: a
    mistyped DATABASE_URL must fail (and /healthz say so), not start an empty database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return
    private_file(path)
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        tighten(companion)


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, a busy timeout, enforced foreign keys and
    BEGIN IMMEDIATE (web and worker write concurrently; a deferred transaction that later
    writes fails with "database is locked" instead of waiting), and a private file."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy's begin event below opens transactions
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def get_engine() -> Engine:
    engine: Engine = current_app.extensions["tulay.engine"]
    return engine


def get_session_factory(app: Flask | None = None) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = (app or current_app).extensions["tulay.sessions"]
    return factory


def new_session(**options: Any) -> Session:
    """A new session from the app's factory (`options` override its defaults); the caller closes it."""
    return get_session_factory()(**options)


def get_session() -> Session:
    """The request's session, opened lazily and closed (rolled back if uncommitted) at teardown."""
    if "db_session" not in g:
        g.db_session = new_session()
    session: Session = g.db_session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with new_session() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["tulay.engine"] = engine
    app.extensions["tulay.sessions"] = sessionmaker(bind=engine, class_=Session, expire_on_commit=False)
    # After each request too: an app context can outlive a request (tests, streamed responses),
    # and a request's transaction must never be left open holding locks.
    app.teardown_request(close_session)
    app.teardown_appcontext(close_session)
