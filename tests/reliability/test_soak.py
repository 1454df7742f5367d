"""A short soak (bench/soak.py) on every run: real HTTP, private PostgreSQL and Redis, two RQ
worker processes, faults injected while messages arrive; nothing lost, nothing doubled."""

from __future__ import annotations

import glob
import shutil

import pytest

from bench.soak import Options, run_soak

pytestmark = [
    pytest.mark.slow,
    pytest.mark.own_servers,
    pytest.mark.skipif(
        not glob.glob("/usr/lib/postgresql/*/bin/initdb") or not shutil.which("redis-server"),
        reason="needs PostgreSQL server binaries and redis-server to start private instances",
    ),
]


def test_every_answered_message_is_stored_processed_and_acknowledged_once_under_faults() -> None:
    # Faults: two workers SIGKILLed mid-job, Redis killed and restarted empty, PostgreSQL
    # restarted, Twilio answering 500 to three sends; plus replayed and concurrent MessageSids.
    options = Options(
        messages=120,
        duration=10,
        concurrency=6,
        worker_kills=2,
        redis_down_seconds=1.5,
        twilio_500s=3,
        drain_timeout=180,
    )
    report = run_soak(options, log=lambda line: None)
    summary = "\n".join(report.lines())
    assert len(report.faults) == 5, summary
    assert report.replays > 0, summary
    assert report.answered_2xx == report.sent == 120, summary
    assert report.stored == report.stored_distinct == 120 and not report.missing_sids, summary
    assert report.unprocessed == 0 and report.untriaged == 0, summary
    assert report.acks_sent == report.acks_expected == 120 and report.reporters_ack_mismatch == 0, summary
    assert report.outbound_not_sent == 0 and not any(report.final_sweep.values()), summary
    assert report.ok, summary
