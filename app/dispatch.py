"""Which background job each stored fact wakes, in one table, and the hooks that enqueue it.

Work is stored first (a row in the request's or the job's transaction) and its job is enqueued
only after that transaction commits, so a worker never sees an id whose row isn't visible yet.
If Redis is down then, the row stays pending and a sweeper (`app/jobs.py`) enqueues it later
under the same job id, so nothing runs twice. The hooks are registered by `init_app` on the
app's own session factory (`app/db.py`), not on SQLAlchemy's global `Session` class.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import event, inspect
from sqlmodel import Session

from app.db import get_session_factory
from app.queues import enqueue, ensure_all_enqueued
from casework.models import (
    Case,
    CaseEvent,
    CaseStatus,
    DeliveryStatus,
    Direction,
    Message,
    ProcessingState,
    StaffNotification,
)

log = logging.getLogger(__name__)

PENDING_KEY = "tulay.after_commit"
FACTORY_KEY = "tulay.dispatch"


@dataclass(frozen=True)
class JobSpec:
    """A kind of job: its queue, its function (a dotted name) and how its id is made.

    The dotted names are stored in Redis with every queued job: renaming one strands the jobs
    already queued, so they stay `app.jobs.*` whatever moves behind them.
    """

    queue: str
    func: str
    id_prefix: str

    def job_id(self, *key: Any) -> str:
        """One id per unit of work (e.g. `outbound-42`): enqueueing it twice runs it once."""
        return "-".join([self.id_prefix, *map(str, key)])


# The one table of jobs. Keys: the arguments unless noted.
PROCESS_INBOUND = JobSpec("intake", "app.jobs.process_inbound_message", "inbound")  # (message_id)
SEND_OUTBOUND = JobSpec("outbound", "app.jobs.send_outbound", "outbound")  # (message_id)
FETCH_MEDIA = JobSpec("outbound", "app.jobs.fetch_inbound_media", "media")  # (attachment_id)
STAFF_ALERT = JobSpec("outbound", "app.jobs.send_staff_alert", "alert")  # args (case_id, kind), key (kind, case_id)
# args (case_id,), key (case_id, closure time): a case reopened and closed again is recorded again.
RECORD_COMPLIANCE = JobSpec("reports", "app.jobs.record_compliance", "compliance")
# No args, no key (one id): asked for by web requests that find no release published.
REFRESH_RELEASE = JobSpec("reports", "app.jobs.refresh_compliance_release", "compliance-release")
# (notification_id): the e-mail of one staff notification, only when SMTP_URL is set.
EMAIL_NOTIFICATION = JobSpec("outbound", "app.jobs.email_staff_notification", "notify-mail")
JOBS = (
    PROCESS_INBOUND,
    SEND_OUTBOUND,
    FETCH_MEDIA,
    STAFF_ALERT,
    RECORD_COMPLIANCE,
    REFRESH_RELEASE,
    EMAIL_NOTIFICATION,
)

# Periodic jobs the worker's cron thread enqueues: (function, queue, seconds or a config key).
PERIODIC_JOBS: tuple[tuple[str, str, str | int], ...] = (
    ("app.jobs.sweep_unprocessed", "intake", "SWEEP_INTERVAL_SECONDS"),
    ("app.jobs.sweep_unfetched_media", "outbound", "SWEEP_INTERVAL_SECONDS"),
    ("app.jobs.sweep_unemailed_notifications", "outbound", "SWEEP_INTERVAL_SECONDS"),
    ("app.jobs.escalate_overdue_cases", "reports", "SLA_CHECK_INTERVAL_SECONDS"),
    ("app.jobs.sweep_compliance", "reports", "SWEEP_INTERVAL_SECONDS"),
    ("app.jobs.apply_retention", "reports", 3600),
    ("app.jobs.refresh_compliance_release", "reports", "COMPLIANCE_CACHE_SECONDS"),
)

Job = tuple[JobSpec, tuple[Any, ...], tuple[Any, ...]]  # (spec, args, key)


def compliance_key(case: Case) -> tuple[Any, ...]:
    stamp = int(case.closed_at.timestamp()) if case.closed_at else 0
    return (case.id, stamp)


def _closed_now(case: Case) -> bool:
    history = inspect(case).attrs.status.history
    return (
        case.status == CaseStatus.CLOSED
        and bool(history.added)
        and all(old != CaseStatus.CLOSED for old in history.deleted)
    )


def jobs_for_new(obj: Any) -> list[Job]:
    """The jobs a newly stored row calls for: inbound to process, outbound to send, an alert or e-mail due."""
    if isinstance(obj, StaffNotification):
        return [(EMAIL_NOTIFICATION, (obj.id,), (obj.id,))]
    if isinstance(obj, Message):
        if obj.direction == Direction.INBOUND and obj.processing_state == ProcessingState.RECEIVED:
            return [(PROCESS_INBOUND, (obj.id,), (obj.id,))]
        if obj.direction == Direction.OUTBOUND and obj.delivery_status == DeliveryStatus.QUEUED:
            return [(SEND_OUTBOUND, (obj.id,), (obj.id,))]
    elif isinstance(obj, CaseEvent) and obj.case_id is not None:
        kind = {"alert_raised": (obj.detail or {}).get("kind", "urgent"), "sla_escalated": "sla_escalation"}.get(
            obj.action
        )
        if kind is not None:
            return [(STAFF_ALERT, (obj.case_id, kind), (kind, obj.case_id))]
    return []


def jobs_for_changed(obj: Any) -> list[Job]:
    """The jobs a changed row calls for: a case just closed is anonymized."""
    if isinstance(obj, Case) and _closed_now(obj):
        return [(RECORD_COMPLIANCE, (obj.id,), compliance_key(obj))]
    return []


def enqueue_after_commit(session: Session, spec: JobSpec, *args: Any, key: Sequence[Any] | None = None) -> None:
    """Enqueue `spec(*args)` once `session` commits; dropped on rollback.

    Raises RuntimeError for a session not made by the app's factory (its jobs would never run).
    """
    if FACTORY_KEY not in session.info:
        raise RuntimeError("enqueue_after_commit needs a session from app.db (the app's session factory)")
    job_key = tuple(args if key is None else key)
    session.info.setdefault(PENDING_KEY, []).append((spec, args, spec.job_id(*job_key)))


def ensure_enqueued(spec: JobSpec, *args: Any, key: Sequence[Any] | None = None) -> str:
    """Make sure `spec(*args)` is waiting or running now; what was done (see `ensure_all`)."""
    return ensure_all(spec, [(args, tuple(args if key is None else key))])[0]


def ensure_all(spec: JobSpec, jobs: Sequence[tuple[tuple[Any, ...], tuple[Any, ...]]]) -> list[str]:
    """Make sure each (args, key) of `spec` is waiting or running: the sweepers' one call.

    Returns, per job, "enqueued", "requeued" or its rq status (`app.queues.ensure_all_enqueued`).
    """
    return ensure_all_enqueued(spec.queue, spec.func, [(spec.job_id(*key), args) for args, key in jobs])


def enqueue_now(spec: JobSpec, *args: Any) -> None:
    """Enqueue `spec(*args)` at once (no transaction to wait for). Raises RedisError."""
    enqueue(spec.queue, spec.func, *args, job_id=spec.job_id(*args))


def init_app(app: Flask) -> None:
    """Hook the job table on the app's session factory (call after `app.db.init_app`)."""
    factory = get_session_factory(app)
    factory.configure(info={FACTORY_KEY: True})

    @event.listens_for(factory, "after_flush")
    def _schedule_jobs(session: Session, _context: Any) -> None:
        jobs = [job for obj in session.new for job in jobs_for_new(obj)]
        jobs += [job for obj in session.dirty for job in jobs_for_changed(obj)]
        jobs += [job for obj in session.new for job in jobs_for_changed(obj)]
        for spec, args, key in jobs:
            if spec is EMAIL_NOTIFICATION and not app.config["SMTP_URL"]:
                continue  # no SMTP: the console inbox is the only way notifications are read
            enqueue_after_commit(session, spec, *args, key=key)

    @event.listens_for(factory, "after_commit")
    def _run_after_commit(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a SAVEPOINT released: nothing is committed yet (SQLAlchemy fires this event for it too)
        pending = session.info.pop(PENDING_KEY, [])
        if not pending:
            return
        with app.app_context():
            for spec, args, job_id in pending:
                try:
                    enqueue(spec.queue, spec.func, *args, job_id=job_id)
                except RedisError as exc:
                    log.warning("enqueue deferred to sweeper", extra={"job_id": job_id, "error": type(exc).__name__})

    @event.listens_for(factory, "after_rollback")
    def _drop_after_rollback(session: Session) -> None:
        if session.in_nested_transaction():
            # Only a SAVEPOINT rolled back; work flushed before it is still pending. A job for a
            # row the savepoint undid finds nothing and returns (every job tolerates a missing id).
            return
        session.info.pop(PENDING_KEY, None)
