"""The RQ worker process: one app (and app context) per process, kept across jobs.

Jobs run in the worker's own process (rq's SimpleWorker), not in a work horse forked per
job. The soak (bench/soak.py) measured the forked horse spending most of each job redoing what
a long-lived process does once: a new database connection, SQL compilation, the twilio REST
modules, the ORM mappers, the data files; in-process jobs used 3.4x less CPU per message.
CTranslate2 (argos) models also cannot cross a fork. A job that overruns its timeout is
still stopped (rq's SIGALRM death penalty); a worker that dies mid-job stops heartbeating,
so its job is declared abandoned after HEARTBEAT_TTL_SECONDS and retried by rq's maintenance.
The cron thread enqueues the periodic jobs (sweeper, SLA escalation, retention) through rq's
own CronScheduler registry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from flask import Flask
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from rq.executions import Execution
from rq.job import Job
from rq.worker import WorkerStatus

from app.dispatch import PERIODIC_JOBS
from app.queues import QUEUE_NAMES, get_queues

log = logging.getLogger(__name__)

# RQ's default is 10 minutes. Maintenance is what restarts a dead scheduler process (without
# it, retries wait in the ScheduledJobRegistry) and retries jobs whose worker died (heartbeat
# expired); the soak (bench/soak.py) found both stuck for minutes.
MAINTENANCE_INTERVAL_SECONDS = 30
# A running job's heartbeat: renewed every HEARTBEAT_SECONDS from a thread, expiring after
# HEARTBEAT_TTL_SECONDS, so a killed worker's job is retried within about a minute. A false
# "abandoned" (a worker stalled for 20 s) runs the job twice at once: harmless for jobs that
# lock their row, but a send stalled inside its Twilio call may then be sent twice.
HEARTBEAT_SECONDS = 5
HEARTBEAT_TTL_SECONDS = 20


class AppWorker(SimpleWorker):
    """rq's in-process worker, heartbeating from a thread while a job runs (rq's forking
    Worker does this from the parent; SimpleWorker does not, so without it a dead worker's
    job would wait out its whole timeout before a retry)."""

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return HEARTBEAT_TTL_SECONDS

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        done = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat_until, args=(job, execution, done), name="tulay-job-heartbeat", daemon=True
        )
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beat.join()
        self.set_state(WorkerStatus.IDLE)

    def _heartbeat_until(self, job: Job, execution: Execution, done: threading.Event) -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception:  # Redis away: the job goes on; the worker's loop reports Redis itself
                log.warning("job heartbeat failed", exc_info=True)


def warm_up(app: Flask) -> None:
    """Load before the first job what every job needs: language ID, MT engines (argos models
    once per worker), the twilio REST modules (imported lazily on first use) and the ORM
    mappers."""
    import twilio.rest.api.v2010.account  # noqa: F401
    from sqlalchemy.orm import configure_mappers

    import casework.models  # noqa: F401
    from app.mt import get_translator, uses_argos
    from casework.language import preload

    preload()
    configure_mappers()
    service = get_translator(app)
    if uses_argos(service):
        service.load()
        log.info("argos models loaded")


def _import(dotted: str):  # type: ignore[no-untyped-def]
    module, _, name = dotted.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


def start_cron(app: Flask, stop: threading.Event) -> threading.Thread:
    """Enqueue periodic jobs from a daemon thread, using rq's CronScheduler bookkeeping."""
    cron = CronScheduler(connection=get_queues().connection, name=f"tulay-{threading.get_native_id()}")
    for func, queue, interval in PERIODIC_JOBS:
        seconds = app.config[interval] if isinstance(interval, str) else interval
        cron.register(_import(func), queue_name=queue, interval=int(seconds))

    def loop() -> None:
        with app.app_context():
            while not stop.is_set():
                try:
                    cron.enqueue_jobs()
                except Exception:  # Redis down: try again next tick; the worker reports it too
                    log.warning("cron tick failed", exc_info=True)
                stop.wait(max(1.0, cron.calculate_sleep_interval()))

    thread = threading.Thread(target=loop, name="tulay-cron", daemon=True)
    thread.start()
    return thread


def run_worker(
    app: Flask, queue_names: Sequence[str] = QUEUE_NAMES, burst: bool = False, with_cron: bool = True
) -> bool:
    """Run a worker on `queue_names` inside an app context; returns when stopped (or drained, in burst)."""
    with app.app_context():
        queues_set = get_queues()
        queues = [Queue(name, connection=queues_set.connection) for name in queue_names]
        stop = threading.Event()
        if with_cron and not burst:
            start_cron(app, stop)
        warm_up(app)
        # An idle worker blocks on the queue for worker_ttl - 15 s (rq's default: 405 s) and
        # runs maintenance only between waits: a short ttl keeps maintenance on time.
        worker = AppWorker(
            queues,
            connection=queues_set.connection,
            worker_ttl=MAINTENANCE_INTERVAL_SECONDS + 15,
            maintenance_interval=MAINTENANCE_INTERVAL_SECONDS,
        )
        try:
            return bool(worker.work(burst=burst, with_scheduler=True, logging_level=app.config["LOG_LEVEL"]))
        finally:
            stop.set()
