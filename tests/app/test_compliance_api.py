"""Closing a case yields its record through the job; the public records and summary API."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app import jobs
from app.api.compliance import OPENAPI_PATHS
from app.queues import get_queues
from app.transparency import release as compliance_cache
from casework import cases
from casework.compliance.anonymize import source_key
from casework.compliance.schema import PUBLIC_COLUMNS
from casework.models import Case, CaseStatus, ComplianceRecord, Reporter
from tests.closed_cases import close_case

K = 5


def build(session: Session, run_jobs: Any, publish: bool = True) -> None:
    """Twelve closed cases, anonymized by the worker; published as the refresh job does unless told not to."""
    for _ in range(6):
        close_case(session, closed_at=datetime(2025, 3, 10, tzinfo=UTC))
    for _ in range(5):
        close_case(
            session,
            closed_at=datetime(2025, 4, 10, tzinfo=UTC),
            country="QA",
            sector="domestic_work",
            category="document_confiscation",
            resolution="not_remedied",
            remedies=(),
            amount=None,
            channel="whatsapp",
            language="tl",
        )
    close_case(session, closed_at=datetime(2025, 4, 12, tzinfo=UTC), country="LB", sector="fishing")
    session.rollback()
    run_jobs(("reports",))
    assert len(session.exec(select(ComplianceRecord)).all()) == 12
    session.rollback()
    if publish:
        jobs.refresh_compliance_release()


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement sent on `engine` inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


COLD_URLS = (
    "/api/v1/compliance/summary",
    "/api/v1/compliance/summary?period=2025-03..2025-03",
    "/api/v1/compliance/records",
    "/api/v1/compliance/records?format=csv",
)


def test_closing_a_case_enqueues_its_anonymization(session: Session, run_jobs: Any) -> None:
    case = close_case(session)
    assert session.exec(select(ComplianceRecord)).all() == []  # written by the job, after commit
    session.rollback()  # end the read transaction: SQLite lets one writer at a time
    run_jobs(("reports",))
    assert (
        session.exec(select(ComplianceRecord).where(ComplianceRecord.source_key == source_key(case.id)))
        .one()
        .closed_month
        == "2025-03"
    )
    assert session.get(Case, case.id).compliance_recorded_at is not None


def test_sweeper_anonymizes_a_closed_case_whose_job_was_lost(app, session: Session, run_jobs: Any) -> None:
    case = close_case(session)
    get_queues()["reports"].empty()  # Redis lost the job
    assert jobs.sweep_compliance() == 1
    run_jobs(("reports",))
    assert session.exec(select(ComplianceRecord)).one() is not None
    session.rollback()
    assert jobs.sweep_compliance() == 0  # nothing missing any more
    reporter = session.get(Reporter, case.reporter_id)
    other = cases.open_case(session, reporter=reporter, channel="sms", language="ne")
    session.commit()
    assert jobs.sweep_compliance() == 0  # open cases are not its business
    assert other.status == CaseStatus.NEW


def test_retention_job_erases_expired_cases(app, session: Session) -> None:
    old = close_case(session, closed_at=datetime.now(UTC) - timedelta(days=app.config["RETENTION_DAYS"] + 2))
    assert jobs.apply_retention() == {"erased": 1}
    session.expire_all()
    assert session.get(Case, old.id).erased_at is not None
    assert session.exec(select(ComplianceRecord)).one() is not None


def test_summary_is_public_and_never_shows_a_cell_under_k(client: FlaskClient, session: Session, run_jobs: Any) -> None:
    build(session, run_jobs)
    response = client.get("/api/v1/compliance/summary")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total_cases"] == 11 and body["by"]["country"] == {"MY": 6, "QA": 5}
    for params in (
        {"country": "LB"},
        {"sector": "fishing"},
        {"period": "2025-04..2025-04", "country": "LB"},
        {"country": "QA", "category": "document_confiscation"},
    ):
        answer = client.get("/api/v1/compliance/summary", query_string=params).get_json()
        counts = [
            answer["total_cases"],
            *[v for t in answer["by"].values() for v in t.values()],
            *answer["monthly"].values(),
            *answer["remedies"].values(),
        ]
        assert all(v is None or v == 0 or v >= K for v in counts), params


@pytest.mark.parametrize(
    ("label", "url", "message"),
    [
        ("unknown filter", "/api/v1/compliance/summary?employer=Acme", "unknown filter"),
        ("inverted period", "/api/v1/compliance/summary?period=2025-06..2025-01", "starts after"),
        ("absurd period", "/api/v1/compliance/records?period=0001-01..9999-12", "out of range"),
        ("huge page size", "/api/v1/compliance/records?per_page=100000", "per_page"),
        ("negative page", "/api/v1/compliance/records?page=-1", "page"),
        ("bad format", "/api/v1/compliance/records?format=xml", "format"),
    ],
)
def test_bad_input_is_a_clear_400(client: FlaskClient, label: str, url: str, message: str) -> None:
    response = client.get(url)
    assert response.status_code == 400, label
    assert message in response.get_json()["error"]


def test_records_json_pages_and_csv(client: FlaskClient, session: Session, run_jobs: Any) -> None:
    build(session, run_jobs)
    first = client.get("/api/v1/compliance/records?per_page=4").get_json()
    assert len(first["records"]) == 4 and first["has_next"] is True
    pages, page = first["records"], 2
    while True:
        body = client.get(f"/api/v1/compliance/records?per_page=4&page={page}").get_json()
        pages += body["records"]
        if not body["has_next"]:
            break
        page += 1
    assert len(pages) == 11 and not any(r["country"] == "LB" for r in pages)
    assert all(set(r) == set(PUBLIC_COLUMNS) for r in pages)
    response = client.get("/api/v1/compliance/records?period=2025-03..2025-03", headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 6 and rows[0]["remedies"] == "wages_paid" and rows[0]["inspection_requested"] == "false"
    assert "Acme" not in response.get_data(as_text=True)


def test_openapi_fragment_documents_both_endpoints() -> None:
    assert set(OPENAPI_PATHS) == {"/api/v1/compliance/records", "/api/v1/compliance/summary"}
    for path in OPENAPI_PATHS.values():
        assert path["get"]["security"] == [] and "400" in path["get"]["responses"]


def test_release_is_shared_through_redis_and_refreshed_by_the_job(
    client: FlaskClient, session: Session, run_jobs: Any
) -> None:
    build(session, run_jobs)
    assert client.get("/api/v1/compliance/summary").get_json()["total_cases"] == 11
    keys = get_queues().connection.keys("tulay:compliance:release:*")
    assert len(keys) == 2 and all(get_queues().connection.ttl(key) > 0 for key in keys)
    for _ in range(5):
        close_case(session, closed_at=datetime(2025, 5, 10, tzinfo=UTC))
    session.rollback()
    run_jobs(("reports",))
    assert client.get("/api/v1/compliance/summary").get_json()["total_cases"] == 11  # the shared release
    compliance_cache.forget()  # another web process: reads Redis, not the database
    assert client.get("/api/v1/compliance/summary").get_json()["total_cases"] == 11
    assert jobs.refresh_compliance_release() > 0
    compliance_cache.forget()
    assert client.get("/api/v1/compliance/summary").get_json()["total_cases"] == 16
    assert client.get("/api/v1/compliance/summary?period=2025-05..2025-05").get_json()["total_cases"] == 5


def test_a_cold_release_is_a_fast_503_and_the_worker_publishes_it(
    app: Any, client: FlaskClient, session: Session, run_jobs: Any
) -> None:
    build(session, run_jobs, publish=False)  # records stored; no release published yet
    with statements(app.extensions["tulay.engine"]) as sent:
        answers = [client.get(url) for url in COLD_URLS]
    for url, response in zip(COLD_URLS, answers, strict=True):
        assert response.status_code == 503 and response.is_json, url
        assert "being prepared" in response.get_json()["error"], url
        assert int(response.headers["Retry-After"]) > 0, url
    assert sent == [], "a web request computed the release"  # no GROUP BY, no query at all
    assert get_queues()["reports"].job_ids == ["compliance-release"]  # one refresh, however many asked
    run_jobs(("reports",))
    answer = client.get("/api/v1/compliance/summary")
    assert answer.status_code == 200 and answer.get_json()["total_cases"] == 11


def test_release_is_served_from_memory_while_redis_is_unreachable_never_computed(
    app: Any, client: FlaskClient, session: Session, run_jobs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(session, run_jobs)
    assert client.get("/api/v1/compliance/summary").get_json()["total_cases"] == 11  # read once from Redis
    connection = get_queues().connection

    def unreachable(*_args: Any, **_kwargs: Any) -> None:
        raise RedisConnectionError("down")

    for name in ("get", "mget", "pipeline"):
        monkeypatch.setattr(connection, name, unreachable)
    response = client.get("/api/v1/compliance/summary?country=MY")
    assert response.status_code == 200 and response.get_json()["total_cases"] == 6  # the copy in memory
    compliance_cache.forget()  # a process that never read a release
    with statements(app.extensions["tulay.engine"]) as sent:
        cold = client.get("/api/v1/compliance/summary")
    assert cold.status_code == 503 and int(cold.headers["Retry-After"]) > 0
    assert sent == []
