"""Closing a case enqueues its anonymization after commit, whoever closed it.

Hooked on SQLAlchemy's flush like `app/outbox_dispatch.py`: any change of `Case.status` to
`closed` (through `casework.cases.transition` or otherwise) schedules
`app.jobs.record_compliance`; `app.jobs.sweep_compliance` covers a lost enqueue.
"""

from __future__ import annotations

from typing import Any

from flask import has_app_context
from sqlalchemy import event, inspect
from sqlmodel import Session

from app.queues import enqueue_after_commit
from casework.models import Case, CaseStatus


def compliance_job_id(case: Case) -> str:
    """One job per closure: a case reopened and closed again gets a fresh job."""
    stamp = int(case.closed_at.timestamp()) if case.closed_at else 0
    return f"compliance-{case.id}-{stamp}"


def _closed_now(case: Case) -> bool:
    history = inspect(case).attrs.status.history
    return (
        case.status == CaseStatus.CLOSED
        and bool(history.added)
        and all(old != CaseStatus.CLOSED for old in history.deleted)
    )


@event.listens_for(Session, "after_flush")
def _schedule_compliance(session: Session, _context: Any) -> None:
    if not has_app_context():  # migrations or offline scripts: the sweeper covers these
        return
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Case) and _closed_now(obj):
            enqueue_after_commit(
                session, "reports", "app.jobs.record_compliance", obj.id, job_id=compliance_job_id(obj)
            )
