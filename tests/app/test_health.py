"""`/healthz` reports database and queue reachability; `/metrics` serves Prometheus text."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient


def test_healthz_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "queue": "ok"}


def test_healthz_reports_unreachable_queue(make_app: Any) -> None:
    broken = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "ok"
    assert body["queue"].startswith("error")


def test_healthz_reports_unreachable_database(make_app: Any, tmp_path) -> None:
    broken = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/missing-dir/x/db.sqlite3")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"].startswith("error")


def test_metrics_exposes_queue_depth(client: FlaskClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'tulay_queue_jobs{queue="intake"}' in text
    assert "tulay_http_requests_total" in text


def test_unknown_route_is_a_clear_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert "error" in response.get_json()
