"""Intake: durable, idempotent storage, then processing into a case with an acknowledgement."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from app.db import new_session
from casework.intake import InboundMessage, IntakeServices, accept_inbound, process_inbound
from casework.models import Case, CaseEvent, DeliveryStatus, Direction, Message, ProcessingState, Reporter

SERVICES = IntakeServices(working_language="en")


def inbound(sid: str = "SM" + "a" * 32, sender: str = "+639171234567", body: str = "Hindi binayaran") -> InboundMessage:
    return InboundMessage(channel="sms", external_id=sid, sender=sender, body=body, received_at=datetime.now(UTC))


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_replayed_message_sid_creates_nothing(session: Session) -> None:
    first, created = accept_inbound(session, inbound())
    session.commit()
    again, created_again = accept_inbound(session, inbound())
    session.commit()
    assert created and not created_again
    assert again.id == first.id
    assert count(session, Message) == 1
    assert count(session, Reporter) == 1


def test_concurrent_duplicates_store_one_message(app) -> None:
    barrier = threading.Barrier(4)
    results: list[bool] = []

    def deliver() -> None:
        with app.app_context(), new_session(expire_on_commit=True) as own:
            barrier.wait()
            _, created = accept_inbound(own, inbound(sid="SM" + "c" * 32))
            own.commit()
            results.append(created)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with new_session(expire_on_commit=True) as check:
        assert count(check, Message) == 1
    assert sorted(results) == [False, False, False, True]


def test_first_message_opens_case_and_queues_ack(session: Session) -> None:
    message, _ = accept_inbound(session, inbound())
    session.commit()
    process_inbound(session, message.id, SERVICES)
    session.commit()
    case = session.exec(select(Case)).one()
    assert message.case_id == case.id
    assert message.processing_state == ProcessingState.PROCESSED
    ack = session.exec(select(Message).where(Message.direction == Direction.OUTBOUND)).one()
    assert ack.kind == "ack"
    assert case.reference in ack.body
    assert ack.delivery_status == DeliveryStatus.QUEUED
    assert session.exec(select(CaseEvent.action).where(CaseEvent.case_id == case.id)).all() == [
        "case_opened",
        "message_received",
    ]


def test_later_message_attaches_to_open_case(session: Session) -> None:
    first, _ = accept_inbound(session, inbound(sid="SM" + "1" * 32))
    second, _ = accept_inbound(session, inbound(sid="SM" + "2" * 32, body="also my passport"))
    session.commit()
    process_inbound(session, first.id, SERVICES)
    process_inbound(session, second.id, SERVICES)
    session.commit()
    assert count(session, Case) == 1
    assert first.case_id == second.case_id
    kinds = session.exec(select(Message.kind).where(Message.direction == Direction.OUTBOUND).order_by(Message.id)).all()
    assert kinds == ["ack", "ack_followup"]


def test_processing_twice_changes_nothing(session: Session) -> None:
    message, _ = accept_inbound(session, inbound())
    session.commit()
    process_inbound(session, message.id, SERVICES)
    session.commit()
    process_inbound(session, message.id, SERVICES)
    session.commit()
    assert count(session, Case) == 1
    assert count(session, Message) == 2  # the inbound and one acknowledgement


def test_opted_out_reporter_gets_suppressed_ack(session: Session) -> None:
    message, _ = accept_inbound(session, inbound())
    reporter = session.get(Reporter, message.reporter_id)
    reporter.opted_out = True
    session.commit()
    process_inbound(session, message.id, SERVICES)
    session.commit()
    ack = session.exec(select(Message).where(Message.direction == Direction.OUTBOUND)).one()
    assert ack.delivery_status == DeliveryStatus.SUPPRESSED
