"""Run the real `flask --app app …` CLI in a subprocess, as operators do: the RQ worker, exports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def cli_env(config: Mapping[str, Any], **changes: Any) -> dict[str, str]:
    """An environment in which `flask --app app` builds the same app as `config` (plus `changes`)."""
    return {**os.environ, **{name: str(value) for name, value in {**config, **changes}.items()}}


def run_flask(env: Mapping[str, str], *args: str, log: Path, timeout: int = 180) -> str:
    """Run `flask --app app ARGS…` with stdout and stderr appended to `log`; returns what this run wrote.

    A non-zero exit fails the test with the end of that output.
    """
    start = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            env=dict(env),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
    with log.open("rb") as written:
        written.seek(start)
        output = written.read().decode("utf-8", errors="replace")
    assert result.returncode == 0, output[-3000:]
    return output


def run_worker(env: Mapping[str, str], *queues: str, log: Path) -> str:
    """Run `flask --app app worker --burst --no-cron` until `queues` (default: all) are empty."""
    return run_flask(
        env, "worker", "--burst", "--no-cron", *[arg for queue in queues for arg in ("-q", queue)], log=log
    )
