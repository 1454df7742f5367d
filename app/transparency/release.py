"""The public compliance release, computed by a worker and shared through Redis.

Computing the release is a GROUP BY cascade over every record (seconds at a million
records), so it never runs in a web request: the job `app.jobs.refresh_compliance_release`
recomputes it every COMPLIANCE_CACHE_SECONDS (and when a web request finds none published),
and web processes only read it: once per version from Redis, then from process memory, with
the summaries of recent filter sets memoized beside it. With no release to serve (none
published yet, or Redis unreachable before this process read one) a request gets
`ReleaseNotReady`, a fast 503 with Retry-After. Serving it a little stale is safe: months are
published only once they have ended (in batches of at least k closures), so the release
changes when a month ends, or when a record is written late for a past month.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlmodel import Session

from app.db import new_session
from app.dispatch import REFRESH_RELEASE, ensure_enqueued
from app.queues import get_queues
from casework.compliance.filters import Filters
from casework.compliance.release import Pattern, current_month, release
from casework.compliance.schema import PUBLIC_COLUMNS
from casework.compliance.summary import summarize

log = logging.getLogger(__name__)
MEMOIZED_SUMMARIES = 256
# What a 503 tells clients to wait: about what the worker takes to compute a release.
RETRY_AFTER_SECONDS = 30
MEMO_KEY = "tulay.compliance_release"


class ReleaseNotReady(Exception):
    """No release to serve yet; the worker is asked to compute one. Answered 503 + Retry-After."""

    retry_after = RETRY_AFTER_SECONDS


@dataclass
class _Memo:
    """This process's copy of the release (per app: tests build many apps in one process)."""

    version: str | None = None
    patterns: list[Pattern] = field(default_factory=list)
    summaries: OrderedDict[Any, dict[str, Any]] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _memo() -> _Memo:
    memo: _Memo = current_app.extensions.setdefault(MEMO_KEY, _Memo())
    return memo


def _keys(k: int) -> tuple[str, str]:
    # Per calendar month: a copy computed before a month ended is never served after it.
    base = f"tulay:compliance:release:v3:{k}:{current_month()}"
    return base, base + ":version"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _k() -> int:
    return int(current_app.config["COMPLIANCE_K"])


def _remember(version: str | None, patterns: list[Pattern]) -> None:
    memo = _memo()
    with memo.lock:
        memo.version, memo.patterns, memo.summaries = version, patterns, OrderedDict()


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


def request_refresh() -> None:
    """Ask a worker to compute the release now: one job however many requests ask."""
    try:
        ensure_enqueued(REFRESH_RELEASE)
    except RedisError:
        log.warning("compliance release refresh not requested: Redis unreachable")


def _last_known() -> tuple[str, list[Pattern]]:
    """What this process served last, or ReleaseNotReady when it never read a release."""
    memo = _memo()
    if memo.version is None:
        raise ReleaseNotReady
    return memo.version, memo.patterns


def published_patterns() -> tuple[str, list[Pattern]]:
    """(version, release) for this request: memory, else Redis. Never computed here.

    With nothing published (first start, Redis flushed, a month just ended) a refresh job is
    enqueued and the release this process served last is served meanwhile; without one,
    ReleaseNotReady. While Redis is unreachable, the last one is served the same way.
    """
    memo = _memo()
    payload_key, version_key = _keys(_k())
    connection = get_queues().connection
    try:
        version = connection.get(version_key)
        if version is not None and _text(version) == memo.version:
            return memo.version, memo.patterns
        version, payload = connection.mget(version_key, payload_key)
    except RedisError:
        log.warning("compliance release served from process memory: Redis unreachable")
        return _last_known()
    if version is None or payload is None:
        request_refresh()
        return _last_known()
    patterns = [(dict(zip(PUBLIC_COLUMNS, values, strict=True)), count) for values, count in json.loads(payload)]
    _remember(_text(version), patterns)
    return _text(version), patterns


def published_summary(filters: Filters) -> dict[str, Any]:
    """The summary for `filters`, memoized per release version."""
    version, patterns = published_patterns()
    memo = _memo()
    key = (filters.start, filters.end, tuple(sorted(filters.dimensions.items())))
    with memo.lock:
        if memo.version == version and key in memo.summaries:
            memo.summaries.move_to_end(key)
            return memo.summaries[key]
    result = summarize(None, filters, _k(), patterns=patterns)
    with memo.lock:
        if memo.version == version:
            memo.summaries[key] = result
            while len(memo.summaries) > MEMOIZED_SUMMARIES:
                memo.summaries.popitem(last=False)
    return result
