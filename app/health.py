"""Liveness and readiness (`/healthz`) and Prometheus metrics (`/metrics`)."""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from redis.exceptions import RedisError
from rq.registry import FailedJobRegistry
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.db import get_engine
from app.queues import get_queues

bp = Blueprint("health", __name__)

REGISTRY = CollectorRegistry()
REQUESTS = Counter("tulay_http_requests_total", "HTTP requests", ["endpoint", "status"], registry=REGISTRY)
LATENCY = Histogram("tulay_http_request_seconds", "HTTP request latency", ["endpoint"], registry=REGISTRY)
QUEUE_DEPTH = Gauge("tulay_queue_jobs", "Jobs waiting per RQ queue", ["queue"], registry=REGISTRY)
FAILED_JOBS = Gauge("tulay_failed_jobs", "Jobs in RQ's FailedJobRegistry per queue", ["queue"], registry=REGISTRY)


def check_database() -> str:
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except SQLAlchemyError as exc:
        return f"error: {type(exc).__name__}"


def check_queue() -> str:
    try:
        get_queues().connection.ping()
        return "ok"
    except RedisError as exc:
        return f"error: {type(exc).__name__}"


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    checks = {"database": check_database(), "queue": check_queue()}
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503


@bp.get("/metrics")
def metrics() -> Response:
    try:
        for name, queue in get_queues().queues.items():
            QUEUE_DEPTH.labels(name).set(queue.count)
            FAILED_JOBS.labels(name).set(FailedJobRegistry(queue=queue).count)
    except RedisError:
        pass  # /healthz reports Redis; metrics still serve the HTTP series
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(endpoint, str(response.status_code)).inc()
        if "request_started" in g:
            LATENCY.labels(endpoint).observe(time.perf_counter() - g.request_started)
        return response
