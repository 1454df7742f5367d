"""A job enqueued by the web process runs in a separate worker process; lost jobs are swept."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from rq.job import Job, JobStatus
from sqlmodel import Session, select

from app.db import new_session
from app.jobs import sweep_unprocessed
from app.queues import enqueue, get_queues
from app.worker import HEARTBEAT_TTL_SECONDS, MAINTENANCE_INTERVAL_SECONDS
from casework.intake import InboundMessage, accept_inbound
from casework.models import Case, Direction, Message, ProcessingState, utcnow
from tests.processes import ROOT, cli_env, run_worker


def store_inbound(session: Session, sid: str) -> int:
    message, _ = accept_inbound(
        session,
        InboundMessage(
            channel="sms", external_id=sid, sender="+639171234567", body="wala pang sahod", received_at=utcnow()
        ),
    )
    session.commit()
    assert message.id is not None
    return message.id


def test_commit_enqueues_the_processing_job(app: Any, session: Session) -> None:
    message_id = store_inbound(session, "SM" + "e" * 32)
    assert get_queues()["intake"].job_ids == [f"inbound-{message_id}"]


def test_worker_process_runs_the_job(app: Any, config: dict[str, Any], session: Session, tmp_path: Path) -> None:
    message_id = store_inbound(session, "SM" + "f" * 32)
    output = run_worker(cli_env(config), "intake", log=tmp_path / "worker.log")
    with new_session(expire_on_commit=True) as check:
        message = check.get(Message, message_id)
        assert message.processing_state == ProcessingState.PROCESSED
        assert check.exec(select(Case)).one().id == message.case_id
    assert "639171234567" not in output


def test_sweeper_reenqueues_when_redis_lost_the_job(app: Any, session: Session, run_jobs: Any) -> None:
    message_id = store_inbound(session, "SM" + "0" * 32)
    get_queues().connection.flushdb()  # Redis lost everything after the commit
    app.config["SWEEP_AFTER_SECONDS"] = 0
    time.sleep(0.01)
    assert sweep_unprocessed() == {"inbound": 1, "outbound": 0}
    run_jobs(("intake",))
    session.expire_all()
    assert session.get(Message, message_id).processing_state == ProcessingState.PROCESSED
    # The acknowledgement is queued for sending, and the sweeper doesn't double a queued job.
    ack = session.exec(select(Message).where(Message.direction == Direction.OUTBOUND)).one()
    assert get_queues()["outbound"].job_ids == [f"outbound-{ack.id}"]
    session.rollback()  # end this test's read transaction (SQLite: BEGIN IMMEDIATE holds the write lock)
    assert sweep_unprocessed() == {"inbound": 0, "outbound": 0}


def test_sweeper_requeues_a_job_that_says_queued_but_is_in_no_queue(app: Any, session: Session, run_jobs: Any) -> None:
    # What a worker killed between taking a job off the queue and starting it leaves behind
    # once rq's maintenance has dropped it from the intermediate list: status "queued", no list.
    message_id = store_inbound(session, "SM" + "1" * 32)
    intake = get_queues()["intake"]
    connection = get_queues().connection
    connection.lrem(intake.key, 0, f"inbound-{message_id}")
    assert Job.fetch(f"inbound-{message_id}", connection=connection).get_status() == JobStatus.QUEUED
    app.config["SWEEP_AFTER_SECONDS"] = 0
    time.sleep(0.01)
    assert sweep_unprocessed() == {"inbound": 1, "outbound": 0}
    assert intake.job_ids == [f"inbound-{message_id}"]
    # A job taken by a live worker (in the intermediate list) is left to that worker.
    connection.lmove(intake.key, intake.intermediate_queue_key)
    assert sweep_unprocessed() == {"inbound": 0, "outbound": 0}
    connection.lmove(intake.intermediate_queue_key, intake.key)
    run_jobs(("intake",))
    session.expire_all()
    assert session.get(Message, message_id).processing_state == ProcessingState.PROCESSED


def test_a_worker_killed_mid_job_has_its_job_retried(app: Any, config: dict[str, Any], session: Session) -> None:
    # rq retries a dead worker's job once its heartbeat expires and maintenance runs
    # (HEARTBEAT_TTL_SECONDS + MAINTENANCE_INTERVAL_SECONDS at most, plus the retry delay).
    marker = Path(config["INSTANCE_PATH"]) / "started"
    job = enqueue(
        "intake", "tests.app.worker_jobs.stall_on_first_run", str(marker), job_id="stall-1", retry_intervals=[1]
    )
    assert job is not None
    env = cli_env(config)
    command = [sys.executable, "-m", "flask", "--app", "app", "worker", "--no-cron", "-q", "intake"]
    first = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second = None
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline and first.poll() is None, "the job never started"
            time.sleep(0.05)
        first.kill()
        first.wait()
        assert job.get_status() == JobStatus.STARTED
        second = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + HEARTBEAT_TTL_SECONDS + 2 * MAINTENANCE_INTERVAL_SECONDS + 30
        while job.get_status() != JobStatus.FINISHED:
            assert time.monotonic() < deadline, f"the killed worker's job is {job.get_status()}"
            time.sleep(0.5)
        assert job.return_value() == "second run"
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


def test_intake_survives_redis_down(make_app: Any, client: FlaskClient) -> None:
    broken = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    with broken.app_context(), new_session(expire_on_commit=True) as own:
        message_id = store_inbound(own, "SM" + "9" * 32)  # commit succeeds; enqueue is deferred
        assert own.get(Message, message_id).processing_state == ProcessingState.RECEIVED
