"""Staff notifications: each trigger notifies the right people exactly once; the inbox is the recipient's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from casework.intake import InboundMessage, IntakeServices, accept_inbound, process_inbound
from casework.models import Case, CaseStatus, Role, StaffNotification, utcnow
from casework.notifications import (
    NotificationNotFound,
    email_text,
    inbox,
    mark_all_read,
    mark_read,
    notify,
    unread_count,
)
from casework.pipeline import follow_up_step
from casework.routing import assign_case
from casework.sla import escalate_overdue, warn_nearing_deadlines
from casework.translation import correct_translation
from tests.app.console_support import add_message
from tests.factories import make_case, make_staff

FOLLOW_UP_ONLY = IntakeServices(working_language="en", steps=(follow_up_step,))


def notifications(session: Session, kind: str | None = None) -> list[tuple[int, str, int]]:
    statement = select(StaffNotification).order_by(StaffNotification.id)
    rows = session.exec(statement).all()
    return [(n.recipient_id, n.kind, n.case_id) for n in rows if kind is None or n.kind == kind]


def test_assignment_notifies_the_new_assignee_once(session: Session) -> None:
    first = make_staff(session, Role.OMBUDSPERSON)
    second = make_staff(session, Role.OMBUDSPERSON)
    boss = make_staff(session, Role.ADMIN)
    case = make_case(session)
    assign_case(session, case, first.id, boss.id)
    session.flush()
    assert notifications(session) == [(first.id, "assigned", case.id)]
    assign_case(session, case, second.id, boss.id)  # a transfer: the new holder hears of it
    session.flush()
    assert notifications(session) == [(first.id, "assigned", case.id), (second.id, "assigned", case.id)]


def test_taking_a_case_yourself_notifies_nobody(session: Session) -> None:
    me = make_staff(session, Role.OMBUDSPERSON)
    case = make_case(session)
    assign_case(session, case, me.id, me.id)
    session.flush()
    assert notifications(session) == []


def _inbound(sid: str, body: str, sender: str = "+639171234567") -> InboundMessage:
    return InboundMessage(channel="sms", external_id=sid, sender=sender, body=body, received_at=datetime.now(UTC))


def test_follow_up_notifies_the_assignee_once(session: Session) -> None:
    holder = make_staff(session, Role.MEDIATOR)
    first, _ = accept_inbound(session, _inbound("SM" + "1" * 32, "Hindi binayaran"))
    session.commit()
    process_inbound(session, first.id, FOLLOW_UP_ONLY)  # opens the case: not a follow-up
    session.commit()
    assert notifications(session) == []
    assert first.case_id is not None
    case = session.get_one(Case, first.case_id)
    case.assignee_id = holder.id
    case.status = CaseStatus.IN_MEDIATION
    session.add(case)
    second, _ = accept_inbound(session, _inbound("SM" + "2" * 32, "kinuha rin ang pasaporte ko"))
    session.commit()
    process_inbound(session, second.id, FOLLOW_UP_ONLY)
    process_inbound(session, second.id, FOLLOW_UP_ONLY)  # processed already: nothing again
    session.commit()
    assert notifications(session) == [(holder.id, "reporter_follow_up", case.id)]


def test_follow_up_on_an_unassigned_case_notifies_active_ombudspersons(session: Session) -> None:
    ombuds = [make_staff(session, Role.OMBUDSPERSON), make_staff(session, Role.OMBUDSPERSON)]
    make_staff(session, Role.OMBUDSPERSON, active=False)
    make_staff(session, Role.MEDIATOR)
    make_staff(session, Role.ADMIN)
    for n in (1, 2):
        message, _ = accept_inbound(session, _inbound("SM" + str(n) * 32, f"mensahe {n}"))
        session.commit()
        process_inbound(session, message.id, FOLLOW_UP_ONLY)
        session.commit()
    case_id = message.case_id
    assert sorted(notifications(session)) == sorted((o.id, "reporter_follow_up", case_id) for o in ombuds)


def test_human_translation_notifies_the_assignee_unless_they_wrote_it(session: Session) -> None:
    holder = make_staff(session, Role.OMBUDSPERSON)
    translator = make_staff(session, Role.OMBUDSPERSON)
    case = make_case(session, assignee_id=holder.id, status=CaseStatus.ASSIGNED)
    message = add_message(session, case, "Hindi binabayaran ang sahod ko")
    correct_translation(session, message, "My wages are not paid", translator.id, language="en")
    session.flush()
    assert notifications(session) == [(holder.id, "translation_done", case.id)]
    correct_translation(session, message, "My wages are unpaid", holder.id, language="en")
    session.flush()
    assert notifications(session) == [(holder.id, "translation_done", case.id)]


def test_sla_nearing_notifies_once_at_eighty_percent(session: Session) -> None:
    holder = make_staff(session, Role.OMBUDSPERSON)
    opened = utcnow() - timedelta(hours=100)
    # Resolution far off; the first response clock runs from `opened` for 100 h + 10 h.
    case = make_case(
        session,
        assignee_id=holder.id,
        status=CaseStatus.ASSIGNED,
        created_at=opened,
        first_response_due_at=opened + timedelta(hours=110),
        resolution_due_at=opened + timedelta(days=60),
    )
    session.commit()
    assert warn_nearing_deadlines(session, now=opened + timedelta(hours=80)) == []  # 73 %: not yet
    assert warn_nearing_deadlines(session) == [case.id]  # 91 %
    session.commit()
    assert warn_nearing_deadlines(session) == []  # the periodic job runs again: nobody twice
    session.commit()
    assert notifications(session) == [(holder.id, "sla_nearing", case.id)]


def test_sla_nearing_skips_answered_and_closed_cases(session: Session) -> None:
    make_staff(session, Role.OMBUDSPERSON)
    opened = utcnow() - timedelta(hours=9)
    due = opened + timedelta(hours=10)
    make_case(session, created_at=opened, first_response_due_at=due, first_response_at=utcnow())
    make_case(session, created_at=opened, first_response_due_at=due, status=CaseStatus.CLOSED)
    session.commit()
    assert warn_nearing_deadlines(session) == []


def test_sla_breach_notifies_assignee_and_ombudspersons_once(session: Session) -> None:
    holder = make_staff(session, Role.MEDIATOR)
    ombuds = make_staff(session, Role.OMBUDSPERSON, is_supervisor=True)
    case = make_case(
        session,
        assignee_id=holder.id,
        status=CaseStatus.IN_MEDIATION,
        first_response_due_at=utcnow() - timedelta(minutes=1),
    )
    session.commit()
    assert escalate_overdue(session) == [case.id]
    session.commit()
    assert escalate_overdue(session) == []
    session.commit()
    assert sorted(notifications(session)) == sorted(
        [(holder.id, "sla_breached", case.id), (ombuds.id, "sla_breached", case.id)]
    )


def test_notify_is_idempotent_per_event(session: Session) -> None:
    user = make_staff(session, Role.OMBUDSPERSON)
    case = make_case(session)
    assert len(notify(session, kind="assigned", case=case, event_key="e1", recipients=[user.id, user.id])) == 1
    session.flush()
    assert notify(session, kind="assigned", case=case, event_key="e1", recipients=[user.id]) == []
    assert len(notify(session, kind="assigned", case=case, event_key="e2", recipients=[user.id])) == 1
    with pytest.raises(ValueError, match="unknown notification kind"):
        notify(session, kind="gossip", case=case, event_key="e3", recipients=[user.id])


def test_inbox_is_the_recipients_own(session: Session) -> None:
    me, other = make_staff(session, Role.OMBUDSPERSON), make_staff(session, Role.OMBUDSPERSON)
    old_case, new_case, their_case = make_case(session), make_case(session), make_case(session)
    notify(session, kind="assigned", case=old_case, event_key="a", recipients=[me.id])
    session.flush()
    notify(session, kind="sla_breached", case=new_case, event_key="b", recipients=[me.id])
    theirs = notify(session, kind="assigned", case=their_case, event_key="c", recipients=[other.id])[0]
    session.flush()
    items = inbox(session, me.id)
    assert [i.reference for i in items] == [new_case.reference, old_case.reference]
    assert items[0].words == "A case missed its deadline"
    assert unread_count(session, me.id) == 2
    with pytest.raises(NotificationNotFound):
        mark_read(session, me.id, theirs.id or 0)
    assert theirs.read_at is None
    mark_read(session, me.id, items[0].id)
    assert unread_count(session, me.id) == 1
    assert mark_all_read(session, me.id) == 1
    assert unread_count(session, me.id) == 0
    assert unread_count(session, other.id) == 1


def test_email_text_holds_the_kind_reference_and_link_only() -> None:
    subject, body = email_text("reporter_follow_up", "K7M2-9QXD", "https://tulay.example.org/")
    assert subject == "Tulay: The reporter wrote again (K7M2-9QXD)"
    assert "https://tulay.example.org/console/cases/K7M2-9QXD" in body
    assert "https://tulay.example.org/console/inbox" in body
