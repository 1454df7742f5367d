"""Transactional outbox wiring: any inbound message stored as `received` and any outbound
message stored as `queued` gets its job enqueued right after the transaction commits.

Hooked on SQLAlchemy's flush, so no code path can store work and forget to wake a worker;
the sweeper (`app.jobs.sweep_unprocessed`) covers the case where Redis was down then.
"""

from __future__ import annotations

from typing import Any

from flask import has_app_context
from sqlalchemy import event
from sqlmodel import Session

from app.queues import enqueue_after_commit
from casework.models import DeliveryStatus, Direction, Message, ProcessingState


def job_for(message: Message) -> tuple[str, str, str] | None:
    """(queue, function, job id) for a message that needs a worker, else None."""
    if message.direction == Direction.INBOUND and message.processing_state == ProcessingState.RECEIVED:
        return "intake", "app.jobs.process_inbound_message", f"inbound-{message.id}"
    if message.direction == Direction.OUTBOUND and message.delivery_status == DeliveryStatus.QUEUED:
        return "outbound", "app.jobs.send_outbound", f"outbound-{message.id}"
    return None


@event.listens_for(Session, "after_flush")
def _schedule_jobs(session: Session, _context: Any) -> None:
    if not has_app_context():  # e.g. migrations or offline scripts: the sweeper covers these
        return
    for obj in session.new:
        if isinstance(obj, Message) and (job := job_for(obj)) is not None:
            queue, func, job_id = job
            enqueue_after_commit(session, queue, func, obj.id, job_id=job_id)
