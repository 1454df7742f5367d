"""The public compliance release, computed by a worker and shared through Redis.

Computing the release is a GROUP BY cascade over every record (seconds at a million
records), so the job `app.jobs.refresh_compliance_release` recomputes it every
COMPLIANCE_CACHE_SECONDS and web processes only read it: once per version from Redis, then
from process memory, with the summaries of recent filter sets memoized beside it. Serving
it a little stale is safe: months are published only once they have ended (in batches of at
least k closures), so the release changes when a month ends, or when a record is written
late for a past month.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlmodel import Session

from app.db import new_session
from app.queues import get_queues
from casework.compliance.filters import Filters
from casework.compliance.release import Pattern, current_month, release
from casework.compliance.schema import PUBLIC_COLUMNS
from casework.compliance.summary import summarize

log = logging.getLogger(__name__)
MEMOIZED_SUMMARIES = 256

_lock = threading.Lock()
_memo: dict[str, Any] = {"version": None, "patterns": [], "summaries": OrderedDict()}


def _keys(k: int) -> tuple[str, str]:
    # Per calendar month: a copy computed before a month ended is never served after it.
    base = f"tulay:compliance:release:v3:{k}:{current_month()}"
    return base, base + ":version"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _k() -> int:
    return int(current_app.config["COMPLIANCE_K"])


def _remember(version: str | None, patterns: list[Pattern]) -> None:
    with _lock:
        _memo.update(version=version, patterns=patterns, summaries=OrderedDict())


def forget() -> None:
    """Drop this process's copy (tests, benchmarks)."""
    _remember(None, [])


def tune_for_release(session: Session) -> None:
    """Give this transaction the memory the release's cascade of GROUP BYs needs on PostgreSQL.

    At the default 4 MB they spill to disk (measured: 3.2 s vs 1.4 s at 200 000 records).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))


def compute_release(k: int) -> list[Pattern]:
    """Read the release from the database in a short read-only session."""
    with new_session() as session:
        tune_for_release(session)
        return list(release(session, k=k))


def refresh_release() -> int:
    """Recompute the release and publish it in Redis; returns the number of patterns."""
    k = _k()
    patterns = compute_release(k)
    payload = json.dumps([[[row[c] for c in PUBLIC_COLUMNS], count] for row, count in patterns])
    version = uuid.uuid4().hex
    payload_key, version_key = _keys(k)
    # Twice the refresh interval, so the release never lapses between two refreshes.
    ttl = 2 * int(current_app.config["COMPLIANCE_CACHE_SECONDS"])
    pipe = get_queues().connection.pipeline(transaction=True)
    pipe.set(payload_key, payload, ex=ttl)
    pipe.set(version_key, version, ex=ttl)
    pipe.execute()
    _remember(version, patterns)
    return len(patterns)


def published_patterns() -> tuple[str | None, list[Pattern]]:
    """(version, release) for this request: memory, else Redis, else computed now and shared.

    If Redis is unreachable the release is computed from the database (version None).
    """
    k = _k()
    payload_key, version_key = _keys(k)
    connection = get_queues().connection
    try:
        version = connection.get(version_key)
        if version is not None and _text(version) == _memo["version"]:
            return _memo["version"], _memo["patterns"]
        version, payload = connection.mget(version_key, payload_key)
    except RedisError:
        log.warning("compliance release read from the database: Redis unreachable")
        return None, compute_release(k)
    if version is None or payload is None:
        refresh_release()
        return _memo["version"], _memo["patterns"]
    patterns = [(dict(zip(PUBLIC_COLUMNS, values, strict=True)), count) for values, count in json.loads(payload)]
    _remember(_text(version), patterns)
    return _text(version), patterns


def published_summary(filters: Filters) -> dict[str, Any]:
    """The summary for `filters`, memoized per release version."""
    version, patterns = published_patterns()
    key = (filters.start, filters.end, tuple(sorted(filters.dimensions.items())))
    summaries: OrderedDict[Any, dict[str, Any]] = _memo["summaries"]
    if version is not None and _memo["version"] == version and key in summaries:
        with _lock:
            summaries.move_to_end(key)
        return summaries[key]
    result = summarize(None, filters, _k(), patterns=patterns)
    if version is not None and _memo["version"] == version:
        with _lock:
            summaries[key] = result
            while len(summaries) > MEMOIZED_SUMMARIES:
                summaries.popitem(last=False)
    return result
