"""Notes, assignment, replies, mediation and outcomes: what they change, and what they refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from app.db import new_session
from casework import cases
from casework.editing import CaseClosed, StaleCase
from casework.mediation import (
    MediationError,
    OutcomeError,
    ReferralError,
    ReferralNotAllowed,
    record_mediation_result,
    record_outcome,
    refer_to_inspection,
    refer_to_mediation,
    schedule_mediation,
)
from casework.models import (
    Case,
    CaseEvent,
    CaseStatus,
    DeliveryStatus,
    Direction,
    MediationSession,
    Message,
    Note,
    Outcome,
    Role,
    Route,
    utcnow,
)
from casework.notes import InvalidNote, add_note
from casework.replies import InvalidReply, queue_staff_reply
from casework.routing import AssignmentError, assign_case
from tests.factories import make_case, make_staff


def events(session: Session, case: Case, action: str) -> list[CaseEvent]:
    return list(
        session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == action).order_by(CaseEvent.id)
        ).all()
    )


def count(session: Session, model: Any) -> int:
    return len(session.exec(select(model)).all())


def test_note_is_added_encrypted_and_audited_without_its_text(session: Session) -> None:
    author = make_staff(session)
    case = make_case(session)
    note = add_note(session, case, author.id, "  employer called Ms Reyes  ")
    session.commit()
    assert note.body == "employer called Ms Reyes"
    [event] = events(session, case, "note_added")
    assert event.detail == {"note_id": note.id} and event.actor_id == author.id


@pytest.mark.parametrize(
    ("label", "body", "error"),
    [
        ("empty", "   ", InvalidNote),
        ("too long", "x" * 10_001, InvalidNote),
    ],
)
def test_bad_note_changes_nothing(session: Session, label: str, body: str, error: type[Exception]) -> None:
    author = make_staff(session)
    case = make_case(session)
    with pytest.raises(error):
        add_note(session, case, author.id, body)
    assert count(session, Note) == 0, label


def test_assign_moves_new_case_to_assigned_then_transfer(session: Session) -> None:
    first, second = make_staff(session), make_staff(session)
    admin = make_staff(session, Role.ADMIN)
    case = make_case(session)
    assign_case(session, case, first.id, admin.id, reason="workload")
    assert case.status == CaseStatus.ASSIGNED and case.assignee_id == first.id
    assign_case(session, case, second.id, admin.id, reason="Ana is on leave until May")
    session.commit()
    assert case.assignee_id == second.id and case.status == CaseStatus.ASSIGNED
    [assigned] = events(session, case, "case_assigned")
    [transferred] = events(session, case, "case_transferred")
    assert assigned.detail == {"from": None, "to": first.id, "reason": "workload"}
    # Free-text reasons may name people: they go to an encrypted note, the audit keeps its id.
    assert transferred.detail["from"] == first.id and "reason" not in transferred.detail
    note = session.get(Note, transferred.detail["reason_note_id"])
    assert note is not None and note.body == "Ana is on leave until May"


@pytest.mark.parametrize(
    ("label", "setup", "message"),
    [
        ("inactive user", lambda s, c: make_staff(s, active=False).id, "inactive"),
        ("mediator on an ombudsperson case", lambda s, c: make_staff(s, Role.MEDIATOR).id, "role is mediator"),
        ("analyst", lambda s, c: make_staff(s, Role.ANALYST).id, "role is analyst"),
        (
            "ombudsperson on a mediation case",
            lambda s, c: (setattr(c, "route", Route.MEDIATION), make_staff(s).id)[1],
            "mediation cases go to role mediator",
        ),
        ("unknown user", lambda s, c: 999_999, "no staff user"),
        ("closed case", lambda s, c: (setattr(c, "status", CaseStatus.CLOSED), make_staff(s).id)[1], "closed"),
    ],
)
def test_bad_assignment_is_refused_and_changes_nothing(session: Session, label: str, setup: Any, message: str) -> None:
    case = make_case(session)
    target = setup(session, case)
    status = case.status
    with pytest.raises(AssignmentError, match=message):
        assign_case(session, case, target, None)
    assert case.assignee_id is None and case.status == status, label
    assert events(session, case, "case_assigned") == []


def test_staff_reply_goes_to_outbox_with_original_and_engine_and_stamps_first_response(session: Session) -> None:
    staff = make_staff(session)
    case = make_case(session, language="tl")
    meta = {"engine": "argos", "model_version": "1.9", "pivot": None, "source": "en"}
    message = queue_staff_reply(
        session, case, staff.id, "We will call your employer.", "Tatawagan namin ang iyong employer.", meta
    )
    session.commit()
    first = case.first_response_at
    assert first is not None
    assert (message.direction, message.kind, message.delivery_status) == (
        Direction.OUTBOUND,
        "reply",
        DeliveryStatus.QUEUED,
    )
    assert message.body == "Tatawagan namin ang iyong employer." and message.language == "tl"
    assert message.translation == "We will call your employer." and message.translation_language == "en"
    assert message.translation_engine == "argos" and message.author_id == staff.id
    queue_staff_reply(session, case, staff.id, "Second", "Pangalawa", {"engine": "human", "source": "en"})
    session.commit()
    assert case.first_response_at == first
    assert [e.detail["first_response"] for e in events(session, case, "reply_queued")] == [True, False]


@pytest.mark.parametrize(
    ("label", "text", "sent", "error"),
    [
        ("empty reply", " ", "x", InvalidReply),
        ("no text the reporter can read", "Hello", None, InvalidReply),
        ("too long", "x" * 1601, "x" * 1601, InvalidReply),
    ],
)
def test_bad_reply_queues_nothing(
    session: Session, label: str, text: str, sent: str | None, error: type[Exception]
) -> None:
    staff = make_staff(session)
    case = make_case(session)
    with pytest.raises(error):
        queue_staff_reply(session, case, staff.id, text, sent, None)
    assert session.exec(select(Message).where(Message.direction == Direction.OUTBOUND)).all() == [], label
    assert case.first_response_at is None


def test_editing_a_closed_case_is_refused(session: Session) -> None:
    staff = make_staff(session)
    case = make_case(session, status=CaseStatus.CLOSED)
    with pytest.raises(CaseClosed):
        add_note(session, case, staff.id, "late note")
    with pytest.raises(CaseClosed):
        queue_staff_reply(session, case, staff.id, "hi", "kumusta", None)
    with pytest.raises(CaseClosed):
        record_outcome(
            session,
            case,
            resolution_type="remedied",
            remedies=[],
            amount_recovered=None,
            currency=None,
            inspection_requested=False,
            sanction_reported=False,
            actor_id=staff.id,
        )
    cases.transition(session, case, CaseStatus.INVESTIGATING, actor_id=staff.id)  # reopening is allowed
    add_note(session, case, staff.id, "reopened: new evidence")


def test_stale_edit_is_refused_by_expected_version_and_at_commit(app: Any, session: Session) -> None:
    staff = make_staff(session)
    case = make_case(session)
    session.commit()
    loaded_version = case.version
    with new_session(expire_on_commit=True) as other:  # a colleague edits the case meanwhile
        theirs = other.get_one(Case, case.id)
        assign_case(other, theirs, staff.id, None)
        other.commit()
    with pytest.raises(StaleCase, match="changed by someone else"):
        add_note(session, case, staff.id, "mine", expected_version=loaded_version - 1)
    # Without an expected version, the ORM's version check still refuses the silent overwrite.
    case.urgency = "high"
    with pytest.raises(StaleDataError):
        session.commit()


def test_mediation_journey_and_outcome(session: Session) -> None:
    ombud = make_staff(session)
    mediator = make_staff(session, Role.MEDIATOR)
    case = make_case(session)
    assign_case(session, case, ombud.id, ombud.id)
    refer_to_mediation(session, case, mediator.id, ombud.id)
    assert (case.status, case.route, case.assignee_id) == (CaseStatus.IN_MEDIATION, Route.MEDIATION, mediator.id)
    when = utcnow() - timedelta(hours=3)  # entered after the fact, as mediators often do
    meeting = schedule_mediation(session, case, mediator.id, when, "worker; employer HR", mediator.id)
    record_mediation_result(session, meeting, utcnow() - timedelta(hours=1), "agreed to pay", "agreement", mediator.id)
    outcome = record_outcome(
        session,
        case,
        resolution_type="remedied",
        remedies=["wages_paid"],
        amount_recovered="1250.50",
        currency="PHP",
        inspection_requested=False,
        sanction_reported=False,
        actor_id=mediator.id,
    )
    cases.transition(session, case, CaseStatus.RESOLVED, actor_id=mediator.id)
    cases.transition(session, case, CaseStatus.CLOSED, actor_id=mediator.id)
    session.commit()
    assert outcome.amount_recovered == Decimal("1250.50") and outcome.currency == "PHP"
    assert session.get_one(MediationSession, meeting.id).result == "agreement"
    for action in ("referred_to_mediation", "mediation_scheduled", "mediation_result", "outcome_recorded"):
        assert events(session, case, action), action
    assert "agreed" not in str(events(session, case, "mediation_result")[0].detail)


@pytest.mark.parametrize(
    ("label", "changes", "message"),
    [
        ("unknown resolution", {"resolution_type": "won"}, "unknown resolution 'won'"),
        ("unknown remedy", {"remedies": ["cash"]}, "unknown remedy 'cash'"),
        ("negative amount", {"amount_recovered": "-1", "currency": "USD"}, "zero or more"),
        ("float amount", {"amount_recovered": 10.5, "currency": "USD"}, "not a float"),
        ("three decimals", {"amount_recovered": "1.005", "currency": "USD"}, "at most 2 decimals"),
        ("not a number", {"amount_recovered": "ten", "currency": "USD"}, "not a number"),
        ("infinite", {"amount_recovered": "Infinity", "currency": "USD"}, "zero or more"),
        ("lower-case currency", {"amount_recovered": "5", "currency": "usd"}, "ISO 4217"),
        ("made-up currency", {"amount_recovered": "5", "currency": "ABC"}, "ISO 4217"),
        ("amount without currency", {"amount_recovered": "5"}, "needs its currency"),
        ("currency without amount", {"currency": "USD"}, "without the amount recovered"),
        ("remedies as a string", {"remedies": "wages_paid"}, "must be a list"),
        ("flag not boolean", {"sanction_reported": "yes"}, "true or false"),
    ],
)
def test_bad_outcome_is_refused_and_stores_nothing(
    session: Session, label: str, changes: dict[str, Any], message: str
) -> None:
    case = make_case(session)
    values: dict[str, Any] = {
        "resolution_type": "remedied",
        "remedies": [],
        "amount_recovered": None,
        "currency": None,
        "inspection_requested": False,
        "sanction_reported": False,
        "actor_id": None,
    }
    with pytest.raises(OutcomeError, match=message):
        record_outcome(session, case, **{**values, **changes})
    assert count(session, Outcome) == 0, label


def test_bad_mediation_input_is_refused(session: Session) -> None:
    ombud = make_staff(session)
    mediator = make_staff(session, Role.MEDIATOR)
    case = make_case(session)
    soon = utcnow() + timedelta(days=1)
    with pytest.raises(MediationError, match="assign it first"):
        schedule_mediation(session, case, mediator.id, soon, "worker", ombud.id)
    assign_case(session, case, ombud.id, ombud.id)
    with pytest.raises(MediationError, match="no mediator"):
        schedule_mediation(session, case, ombud.id, soon, "worker", ombud.id)
    with pytest.raises(MediationError, match="time zone"):
        schedule_mediation(session, case, mediator.id, datetime(2030, 1, 1), "worker", ombud.id)
    with pytest.raises(MediationError, match="parties is required"):
        schedule_mediation(session, case, mediator.id, soon, " ", ombud.id)
    assert case.status == CaseStatus.ASSIGNED and count(session, MediationSession) == 0
    meeting = schedule_mediation(session, case, mediator.id, soon, "worker", ombud.id)
    with pytest.raises(MediationError, match="result must be one of"):
        record_mediation_result(session, meeting, utcnow(), None, "won", ombud.id)
    with pytest.raises(MediationError, match="in the future"):
        record_mediation_result(session, meeting, datetime(2999, 1, 1, tzinfo=UTC), None, "agreement", ombud.id)
    assert meeting.result is None


@pytest.mark.parametrize("role", [Role.MEDIATOR, Role.ANALYST])
def test_only_admins_and_ombudspersons_may_refer(session: Session, role: Role) -> None:
    """Referral hands the case to someone else; the domain refuses it to any other role."""
    actor = make_staff(session, role)
    other_mediator = make_staff(session, Role.MEDIATOR)
    case = make_case(session, route=Route.MEDIATION, assignee_id=actor.id, status=CaseStatus.ASSIGNED)
    session.commit()
    before = (case.version, case.assignee_id, case.status, case.route, count(session, CaseEvent))
    with pytest.raises(ReferralNotAllowed, match="admin or ombudsperson"):
        refer_to_mediation(session, case, other_mediator.id, actor.id)
    with pytest.raises(ReferralNotAllowed, match="admin or ombudsperson"):
        refer_to_inspection(session, case, actor.id)
    with pytest.raises(ReferralNotAllowed):
        refer_to_inspection(session, case, None)  # nobody named: nobody allowed
    assert (case.version, case.assignee_id, case.status, case.route, count(session, CaseEvent)) == before
    for manager in (make_staff(session, Role.ADMIN), make_staff(session, Role.OMBUDSPERSON)):
        other = make_case(session, route=Route.MEDIATION, assignee_id=actor.id, status=CaseStatus.ASSIGNED)
        refer_to_mediation(session, other, other_mediator.id, manager.id)
        assert other.assignee_id == other_mediator.id
    inactive = make_staff(session, Role.ADMIN, active=False)
    with pytest.raises(ReferralNotAllowed):
        refer_to_inspection(session, case, inactive.id)


def test_referral_to_inspection(session: Session) -> None:
    ombud = make_staff(session)
    case = make_case(session)
    with pytest.raises(ReferralError, match="assign it first"):
        refer_to_inspection(session, case, ombud.id)
    assign_case(session, case, ombud.id, ombud.id)
    refer_to_inspection(session, case, ombud.id, reason="passport held by employer")
    session.commit()
    assert case.status == CaseStatus.REFERRED
    [event] = events(session, case, "referred_to_inspection")
    assert "passport" not in str(event.detail) and "reason_note_id" in event.detail
