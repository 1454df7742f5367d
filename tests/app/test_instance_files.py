"""`make run` and the embedded defaults: the dev server listens on this machine only unless HOST
says otherwise, and every file under the instance folder that holds data or secrets is private
(files 0600, folders 0700), whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app import devserver
from app.config import ConfigError, dev_server_address
from app.db import make_engine
from app.media import media_file, media_root, store_media
from app.queues import make_redis


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask (022): what a file gets when nobody chooses its mode is world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, ("127.0.0.1", 5000)),
        ({"PORT": "8080"}, ("127.0.0.1", 8080)),
        ({"HOST": "0.0.0.0"}, ("0.0.0.0", 5000)),
        ({"HOST": " ::1 ", "PORT": "5001"}, ("::1", 5001)),
        ({"HOST": ""}, ("127.0.0.1", 5000)),
    ],
)
def test_dev_server_listens_on_loopback_unless_host_says_otherwise(
    environ: dict[str, str], expected: tuple[str, int]
) -> None:
    assert dev_server_address(environ) == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [({"PORT": "http"}, "PORT"), ({"PORT": "70000"}, "PORT"), ({"HOST": "a b"}, "HOST"), ({"HOST": "x/y"}, "HOST")],
)
def test_a_bad_dev_server_address_is_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        dev_server_address(environ)


def test_gunicorn_binds_the_chosen_address() -> None:
    command = devserver.web_command("127.0.0.1", 5000)
    assert command[command.index("--bind") + 1] == "127.0.0.1:5000"
    ipv6 = devserver.web_command("::1", 5000)
    assert ipv6[ipv6.index("--bind") + 1] == "[::1]:5000"
    assert devserver.probe_host("0.0.0.0") == "127.0.0.1" and devserver.probe_host("::") == "::1"


def test_makefile_passes_host_to_the_dev_server() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "HOST ?= 127.0.0.1" in makefile and "--host $(HOST)" in makefile


def test_development_secrets_are_private_from_the_start(tmp_path: Path, loose_umask: None) -> None:
    instance = tmp_path / "instance"
    env = devserver.development_env(instance)
    assert env["SECRET_KEY"] and env["DATA_ENCRYPTION_KEY"]
    assert mode(instance / "dev.env") == 0o600 and mode(instance) == 0o700


def test_embedded_sqlite_database_is_private(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "fresh" / "tulay.sqlite3"
    path.parent.mkdir()  # the instance folder, which create_app makes private (see below)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x TEXT)"))
            conn.execute(text("INSERT INTO t VALUES ('reporter data')"))
        created = list(path.parent.iterdir())
        assert {p.name for p in created} >= {"tulay.sqlite3", "tulay.sqlite3-wal", "tulay.sqlite3-shm"}
        assert {p.name: mode(p) for p in created} == dict.fromkeys((p.name for p in created), 0o600)
    finally:
        engine.dispose()
    # A database left world-readable by an earlier version is made private when opened.
    path.chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600
    # A mistyped DATABASE_URL is not given folders of its own (it must fail, and /healthz say so).
    make_engine(f"sqlite:///{tmp_path}/typo/tulay.sqlite3").dispose()
    assert not (tmp_path / "typo").exists()


def test_embedded_redis_files_are_private(tmp_path: Path, loose_umask: None) -> None:
    instance = tmp_path / "instance"
    server: Any = make_redis("", str(instance))
    try:
        server.set("tulay:test", "queued job")
        server.save()
        files = [p for p in instance.iterdir() if p.is_file()]
        assert "redis.db" in {p.name for p in files}
        assert {p.name: mode(p) for p in files} == dict.fromkeys((p.name for p in files), 0o600)
        assert mode(instance) == 0o700
    finally:
        server.shutdown()


def test_media_files_and_folders_are_private(app: Any, loose_umask: None) -> None:
    stored = store_media(41, 7, b"photo of a payslip")
    path = media_file(stored)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(media_root()) == 0o700
