"""Jobs are enqueued only when the outermost transaction commits, never at a SAVEPOINT."""

from __future__ import annotations

from typing import Any

from app.db import new_session
from app.queues import get_queues
from casework.intake import InboundMessage, accept_inbound
from casework.models import utcnow


def inbound(sid: str) -> InboundMessage:
    return InboundMessage(
        channel="sms", external_id=sid, sender="+639171234567", body="wala pang sahod", received_at=utcnow()
    )


def test_job_waits_for_the_outer_commit_not_the_savepoint(app: Any) -> None:
    with new_session() as session:
        message, _ = accept_inbound(session, inbound("SM" + "a" * 32))  # flushes inside SAVEPOINTs
        assert get_queues()["intake"].job_ids == []  # a worker must not see an id not yet committed
        session.commit()
    assert get_queues()["intake"].job_ids == [f"inbound-{message.id}"]


def test_rolled_back_savepoint_keeps_earlier_pending_jobs(app: Any) -> None:
    with new_session() as session:
        first, _ = accept_inbound(session, inbound("SM" + "b" * 32))
        again, created = accept_inbound(session, inbound("SM" + "b" * 32))  # duplicate: nothing new
        assert not created and again.id == first.id
        session.commit()
    assert get_queues()["intake"].job_ids == [f"inbound-{first.id}"]


def test_outer_rollback_drops_pending_jobs(app: Any) -> None:
    with new_session() as session:
        accept_inbound(session, inbound("SM" + "c" * 32))
        session.rollback()
    assert get_queues()["intake"].job_ids == []
