"""`flask worker`: an RQ worker with an app context (what the Procfile's `worker` runs)."""

from __future__ import annotations

import click
from flask import current_app

from app.queues import QUEUE_NAMES


@click.command("worker")
@click.option(
    "--queue",
    "-q",
    "queue_names",
    multiple=True,
    type=click.Choice(QUEUE_NAMES),
    help="Queues to serve, in priority order (default: all).",
)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--cron/--no-cron", default=True, help="Also enqueue periodic jobs (sweeper, escalation).")
def worker_command(queue_names: tuple[str, ...], burst: bool, cron: bool) -> None:
    """Run an RQ worker with an app context."""
    from app.worker import run_worker

    run_worker(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        queue_names or QUEUE_NAMES,
        burst=burst,
        with_cron=cron,
    )
