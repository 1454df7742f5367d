"""Jobs for worker tests, importable by a `flask worker` subprocess."""

from __future__ import annotations

import time
from pathlib import Path


def stall_on_first_run(marker: str) -> str:
    """First run: leave `marker` and hang (to be killed); a retry finds it and returns."""
    path = Path(marker)
    if path.exists():
        return "second run"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    time.sleep(600)
    return "first run"
