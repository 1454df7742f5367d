"""Mediation agreements: remedy lines, follow-up dates, held/scheduled times, amendments and
each mediator's agenda."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

from casework.mediation import (
    MediationError,
    RemedyTerm,
    amend_mediation_result,
    mediator_agenda,
    record_mediation_result,
    remedy_lines,
    schedule_mediation,
)
from casework.models import Case, CaseEvent, CaseStatus, MediationSession, Note, RemedyLine, Role, utcnow
from casework.routing import assign_case
from tests.factories import make_case, make_staff


def _meeting(session: Session, hours_ago: int = 3) -> tuple[Case, MediationSession, Any]:
    ombud = make_staff(session)
    mediator = make_staff(session, Role.MEDIATOR)
    case = make_case(session)
    assign_case(session, case, ombud.id, ombud.id)
    meeting = schedule_mediation(
        session, case, mediator.id, utcnow() - timedelta(hours=hours_ago), "worker; employer", ombud.id
    )
    return case, meeting, mediator


def _actions(session: Session, case: Case) -> list[str]:
    return list(session.exec(select(CaseEvent.action).where(CaseEvent.case_id == case.id)).all())


def test_an_agreement_records_its_terms_as_remedy_lines(session: Session) -> None:
    case, meeting, mediator = _meeting(session)
    today = utcnow().date()
    record_mediation_result(
        session,
        meeting,
        utcnow() - timedelta(hours=1),
        "employer agreed",
        "agreement",
        mediator.id,
        terms=[
            RemedyTerm("wages_paid", "employer", "1500.00", "PHP", today + timedelta(days=30)),
            RemedyTerm("documents_returned", "employer", None, None, today + timedelta(days=2)),
            RemedyTerm("fees_refunded", "recruitment_agency", "300", "USD", None),
        ],
        follow_up_on=today + timedelta(days=31),
    )
    session.commit()
    lines = remedy_lines(session, case)
    assert [(line.remedy, line.amount, line.currency, line.payer) for line in lines] == [
        ("documents_returned", None, None, "employer"),
        ("wages_paid", Decimal("1500.00"), "PHP", "employer"),
        ("fees_refunded", Decimal("300.00"), "USD", "recruitment_agency"),
    ], "ordered by due date, undated last"
    assert session.get_one(MediationSession, meeting.id).follow_up_on == today + timedelta(days=31)
    detail = session.exec(select(CaseEvent.detail).where(CaseEvent.action == "mediation_result")).one()
    assert detail["remedy_lines"] == 3 and "agreed" not in str(detail)


@pytest.mark.parametrize(
    ("label", "result", "term", "message"),
    [
        ("unknown remedy", "agreement", RemedyTerm("cash", "employer"), "remedy line 1: unknown remedy 'cash'"),
        ("unknown payer", "agreement", RemedyTerm("wages_paid", "the boss"), "who pays must be one of"),
        ("amount without currency", "agreement", RemedyTerm("wages_paid", "employer", "10"), "needs its currency"),
        ("bad currency", "agreement", RemedyTerm("wages_paid", "employer", "10", "XXQ"), "ISO 4217"),
        ("not a number", "agreement", RemedyTerm("wages_paid", "employer", "ten", "USD"), "not a number"),
        ("due before held", "agreement", RemedyTerm("wages_paid", "employer", due_on=date(2000, 1, 1)), "before"),
        ("terms without agreement", "no_agreement", RemedyTerm("wages_paid", "employer"), "terms of an agreement"),
    ],
)
def test_bad_terms_are_refused_and_store_nothing(
    session: Session, label: str, result: str, term: RemedyTerm, message: str
) -> None:
    _case, meeting, mediator = _meeting(session)
    with pytest.raises(MediationError, match=message):
        record_mediation_result(session, meeting, utcnow(), None, result, mediator.id, terms=[term])
    assert meeting.result is None and session.exec(select(RemedyLine)).all() == [], label


def test_a_session_cannot_be_held_before_it_was_scheduled(session: Session) -> None:
    _case, meeting, mediator = _meeting(session, hours_ago=1)
    with pytest.raises(MediationError, match="before the session was scheduled"):
        record_mediation_result(session, meeting, utcnow() - timedelta(hours=5), None, "agreement", mediator.id)
    with pytest.raises(MediationError, match="follow-up date"):
        record_mediation_result(
            session, meeting, utcnow(), None, "agreement", mediator.id, follow_up_on=date(2000, 1, 1)
        )
    assert meeting.result is None


def test_a_result_is_amended_with_a_reason_and_audited(session: Session) -> None:
    case, meeting, mediator = _meeting(session)
    held = utcnow() - timedelta(hours=1)
    record_mediation_result(session, meeting, held, None, "no_agreement", mediator.id)
    with pytest.raises(MediationError, match="already recorded; amend it"):
        record_mediation_result(session, meeting, held, None, "agreement", mediator.id)
    with pytest.raises(MediationError, match="say why"):
        amend_mediation_result(session, meeting, held, None, "agreement", mediator.id, reason=" ")
    assert meeting.result == "no_agreement"
    amend_mediation_result(
        session,
        meeting,
        held,
        "signed later that day",
        "agreement",
        mediator.id,
        reason="the employer signed after the session",
        terms=[RemedyTerm("wages_paid", "employer", "900", "SAR", utcnow().date() + timedelta(days=14))],
    )
    session.commit()
    assert meeting.result == "agreement" and len(remedy_lines(session, case)) == 1
    detail = session.exec(select(CaseEvent.detail).where(CaseEvent.action == "mediation_result_amended")).one()
    assert (detail["from_result"], detail["result"], detail["remedy_lines_before"], detail["remedy_lines"]) == (
        "no_agreement",
        "agreement",
        0,
        1,
    )
    assert any("signed after" in (n.body or "") for n in session.exec(select(Note)).all()), "the reason is a note"
    # Amending again replaces the terms rather than adding to them.
    amend_mediation_result(session, meeting, held, None, "partial_agreement", mediator.id, reason="one term dropped")
    assert remedy_lines(session, case) == []


def test_amending_needs_a_recorded_result(session: Session) -> None:
    _case, meeting, mediator = _meeting(session)
    with pytest.raises(MediationError, match="no result to amend"):
        amend_mediation_result(session, meeting, utcnow(), None, "agreement", mediator.id, reason="typo")


def test_the_agenda_lists_sessions_to_record_and_follow_ups_per_mediator(session: Session) -> None:
    case, meeting, mediator = _meeting(session)
    other_case, other_meeting, other_mediator = _meeting(session)
    done_case, done_meeting, _ = _meeting(session)
    done_meeting.mediator_id = mediator.id
    record_mediation_result(
        session,
        done_meeting,
        utcnow(),
        None,
        "agreement",
        mediator.id,
        follow_up_on=utcnow().date() + timedelta(days=7),
    )
    session.commit()
    mine = mediator_agenda(session, mediator.id)
    assert [s.id for s in mine.sessions] == [meeting.id]
    assert [s.id for s in mine.follow_ups] == [done_meeting.id]
    everyone = mediator_agenda(session, None)
    assert {s.id for s in everyone.sessions} == {meeting.id, other_meeting.id}
    done_case.status = CaseStatus.CLOSED
    session.add(done_case)
    session.commit()
    assert mediator_agenda(session, mediator.id).follow_ups == [], "a closed case needs no follow-up"
    assert case.id and other_case.id and other_mediator.id
