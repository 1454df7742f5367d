"""The RQ worker process: one app (and app context) per process, kept across jobs.

Jobs run in a forked work horse (a crash or timeout kills only that job); the database
pool is discarded in the child so parent and child never share a connection. The language
model and the MT registry are loaded before the loop starts. CTranslate2 models (argos) are
not fork-safe — a translator loaded before `fork()` hangs in the child — so when argos
packages are installed the worker loads them once and runs jobs in its own process instead. The cron
thread enqueues the periodic jobs (sweeper, SLA escalation, retention) through rq's own
CronScheduler registry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from flask import Flask
from rq import Queue, SimpleWorker, Worker
from rq.cron import CronScheduler

from app.db import get_engine
from app.queues import QUEUE_NAMES, get_queues

log = logging.getLogger(__name__)

# RQ's default is 10 minutes. Maintenance is what restarts a dead scheduler process (without
# it, retries wait in the ScheduledJobRegistry) and retries jobs whose worker died (heartbeat
# expired ~90 s after the kill); the soak (bench/soak.py) found both stuck for minutes.
MAINTENANCE_INTERVAL_SECONDS = 30

# (dotted function, queue, interval in seconds or a config key holding it)
PERIODIC_JOBS: list[tuple[str, str, str | int]] = [
    ("app.jobs.sweep_unprocessed", "intake", "SWEEP_INTERVAL_SECONDS"),
    ("app.jobs.sweep_unfetched_media", "outbound", "SWEEP_INTERVAL_SECONDS"),
    ("app.jobs.escalate_overdue_cases", "reports", "SLA_CHECK_INTERVAL_SECONDS"),
    ("app.jobs.sweep_compliance", "reports", "SWEEP_INTERVAL_SECONDS"),
    ("app.jobs.apply_retention", "reports", 3600),
    ("app.jobs.refresh_compliance_release", "reports", "COMPLIANCE_CACHE_SECONDS"),
]


class AppWorker(Worker):
    """An rq Worker whose work horses start with a fresh database pool."""

    def main_work_horse(self, job, queue):  # type: ignore[no-untyped-def]
        get_engine().dispose(close=False)
        super().main_work_horse(job, queue)


class AppSimpleWorker(SimpleWorker):
    """An rq worker that runs jobs in its own process, so models loaded once are reused."""


def preload_models(app: Flask) -> type[Worker]:
    """Load language ID and MT before the first job; return the worker class they allow."""
    from app.mt import get_translator, uses_argos
    from casework.language import preload

    preload()
    service = get_translator(app)
    if uses_argos(service):
        service.load()
        log.info("argos models loaded; jobs run in the worker process (no fork)")
        return AppSimpleWorker
    return AppWorker


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


def run_worker(app: Flask, queue_names: Sequence[str] = QUEUE_NAMES, burst: bool = False,
               with_cron: bool = True) -> bool:
    """Run a worker on `queue_names` inside an app context; returns when stopped (or drained, in burst)."""
    with app.app_context():
        queues_set = get_queues()
        queues = [Queue(name, connection=queues_set.connection) for name in queue_names]
        stop = threading.Event()
        if with_cron and not burst:
            start_cron(app, stop)
        worker_class = preload_models(app)
        worker = worker_class(queues, connection=queues_set.connection,
                              maintenance_interval=MAINTENANCE_INTERVAL_SECONDS)
        try:
            return bool(worker.work(burst=burst, with_scheduler=True, logging_level=app.config["LOG_LEVEL"]))
        finally:
            stop.set()
