"""Mediation sessions, referrals (to mediation or to labour inspection) and case outcomes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from babel.numbers import is_currency
from sqlmodel import Session, col, select

from casework.access import REFERRAL_ROLES, ActionNotAllowed, require_role
from casework.audit import record_event
from casework.cases import LEGAL_TRANSITIONS, transition
from casework.editing import CaseworkError, check_editable
from casework.models import (
    Case,
    CaseStatus,
    MediationSession,
    Outcome,
    RemedyLine,
    Role,
    Route,
    StaffUser,
    utcnow,
)
from casework.notes import reason_detail
from casework.routing import assign_case

MEDIATION_RESULTS = ("agreement", "partial_agreement", "no_agreement", "adjourned", "no_show")
RESOLUTION_TYPES = (
    "remedied",
    "partially_remedied",
    "not_remedied",
    "referred",
    "withdrawn",
    "no_jurisdiction",
    "unreachable",
)
REMEDIES = (
    "wages_paid",
    "documents_returned",
    "fees_refunded",
    "contract_honoured",
    "compensation_paid",
    "repatriation_paid",
    "reinstated",
    "housing_improved",
    "safety_improved",
    "apology",
    "other",
)
# Who owes a remedy line.
PAYERS = ("employer", "recruitment_agency", "other")
# An agreement's terms: only these results have them.
AGREEMENT_RESULTS = ("agreement", "partial_agreement")
MAX_REMEDY_LINES = 20
MAX_TEXT = 10_000
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
CLOCK_SKEW = timedelta(minutes=5)


class MediationError(CaseworkError):
    """A mediation session cannot be scheduled or recorded as asked."""


class OutcomeError(CaseworkError):
    """The outcome is not valid (unknown vocabulary, bad amount or currency)."""


class ReferralError(CaseworkError):
    """The case cannot be referred from its current state."""


class ReferralNotAllowed(ActionNotAllowed):
    """The actor may not refer cases: referral is for admins and ombudspersons (`REFERRAL_ROLES`)."""


def _require_referrer(session: Session, actor_id: int | None) -> None:
    """Refuse a referral unless `actor_id` is an active admin or ombudsperson (the role as stored)."""
    actor = session.get(StaffUser, actor_id) if isinstance(actor_id, int) else None
    require_role(actor, REFERRAL_ROLES, "referral", ReferralNotAllowed)


def _aware(name: str, value: datetime, error: type[CaseworkError]) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise error(f"{name} must be a date and time with a time zone")
    return value


def _text(name: str, value: str | None, error: type[CaseworkError], required: bool) -> str | None:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise error(f"{name} is required")
    if len(cleaned) > MAX_TEXT:
        raise error(f"{name} is longer than {MAX_TEXT} characters")
    return cleaned or None


def _mediator(session: Session, mediator_id: int) -> StaffUser:
    mediator = session.get(StaffUser, mediator_id) if isinstance(mediator_id, int) else None
    if mediator is None or Role(mediator.role) is not Role.MEDIATOR:
        raise MediationError(f"no mediator with id {mediator_id!r}")
    if not mediator.active:
        raise MediationError("that mediator is inactive")
    return mediator


def schedule_mediation(
    session: Session,
    case: Case,
    mediator_id: int,
    scheduled_at: datetime,
    parties: str,
    actor_id: int | None,
    *,
    expected_version: int | None = None,
) -> MediationSession:
    """Schedule a session with `mediator_id`; an assigned/investigating case moves to in_mediation.

    Raises MediationError, CaseClosed or StaleCase, changing nothing.
    """
    check_editable(case, expected_version)
    _aware("scheduled_at", scheduled_at, MediationError)
    text = _text("parties", parties, MediationError, required=True)
    _mediator(session, mediator_id)
    status = CaseStatus(case.status)
    if status is not CaseStatus.IN_MEDIATION and CaseStatus.IN_MEDIATION not in LEGAL_TRANSITIONS[status]:
        raise MediationError(f"a {status.value} case cannot go to mediation; assign it first")
    if status is not CaseStatus.IN_MEDIATION:
        transition(session, case, CaseStatus.IN_MEDIATION, actor_id=actor_id, reason="mediation_scheduled")
    assert case.id is not None
    item = MediationSession(case_id=case.id, mediator_id=mediator_id, scheduled_at=scheduled_at, parties=text)
    session.add(item)
    session.flush()
    record_event(
        session,
        action="mediation_scheduled",
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff" if actor_id else "system",
        mediation_session_id=item.id,
        mediator_id=mediator_id,
        scheduled_at=scheduled_at.isoformat(),
    )
    return item


@dataclass(frozen=True)
class RemedyTerm:
    """One term of an agreement as entered: what, how much, who pays, by when."""

    remedy: str
    payer: str
    amount: Decimal | str | None = None
    currency: str | None = None
    due_on: date | None = None


def _check_terms(terms: Iterable[RemedyTerm], result: str, held_at: datetime) -> list[RemedyTerm]:
    """The agreement's terms, validated; raises MediationError naming the line and field."""
    checked: list[RemedyTerm] = []
    for number, term in enumerate(terms, start=1):
        where = f"remedy line {number}"
        if term.remedy not in REMEDIES:
            raise MediationError(f"{where}: unknown remedy {term.remedy!r}; choose from {', '.join(REMEDIES)}")
        if term.payer not in PAYERS:
            raise MediationError(f"{where}: who pays must be one of {', '.join(PAYERS)}; got {term.payer!r}")
        amount, code = _money(term.amount, term.currency, f"{where}: the amount", MediationError)
        if term.due_on is not None and (not isinstance(term.due_on, date) or isinstance(term.due_on, datetime)):
            raise MediationError(f"{where}: the due date must be a date")
        if term.due_on is not None and term.due_on < held_at.date():
            raise MediationError(f"{where}: the due date {term.due_on.isoformat()} is before the session was held")
        checked.append(RemedyTerm(term.remedy, term.payer, amount, code, term.due_on))
    if len(checked) > MAX_REMEDY_LINES:
        raise MediationError(f"an agreement has at most {MAX_REMEDY_LINES} remedy lines")
    if checked and result not in AGREEMENT_RESULTS:
        raise MediationError(
            "remedy lines are the terms of an agreement: record them only with an agreement or partial agreement"
        )
    return checked


def _check_session_times(
    mediation_session: MediationSession, held_at: datetime, follow_up_on: date | None, now: datetime | None
) -> None:
    _aware("held_at", held_at, MediationError)
    if held_at > (now or utcnow()) + CLOCK_SKEW:
        raise MediationError("held_at is in the future")
    scheduled = mediation_session.scheduled_at
    if scheduled is not None and held_at < scheduled - CLOCK_SKEW:
        raise MediationError(
            f"held_at ({held_at.isoformat(timespec='minutes')}) is before the session was scheduled "
            f"({scheduled.isoformat(timespec='minutes')}); if it was brought forward, schedule a new session"
        )
    if follow_up_on is not None and (not isinstance(follow_up_on, date) or follow_up_on < held_at.date()):
        raise MediationError("the follow-up date must be a date on or after the session")


def _replace_terms(
    session: Session, mediation_session: MediationSession, terms: list[RemedyTerm], actor_id: int | None
) -> None:
    assert mediation_session.id is not None
    for old in session.exec(select(RemedyLine).where(RemedyLine.mediation_session_id == mediation_session.id)):
        session.delete(old)
    for term in terms:
        session.add(
            RemedyLine(
                case_id=mediation_session.case_id,
                mediation_session_id=mediation_session.id,
                remedy=term.remedy,
                amount=Decimal(term.amount) if term.amount is not None else None,
                currency=term.currency,
                payer=term.payer,
                due_on=term.due_on,
                created_by_id=actor_id,
            )
        )


def _set_result(
    session: Session,
    mediation_session: MediationSession,
    held_at: datetime,
    notes: str | None,
    result: str,
    actor_id: int | None,
    terms: Iterable[RemedyTerm],
    follow_up_on: date | None,
    now: datetime | None,
) -> int:
    """Validate a session's result and terms whole, then store them; the number of remedy lines."""
    if result not in MEDIATION_RESULTS:
        raise MediationError(f"result must be one of {', '.join(MEDIATION_RESULTS)}; got {result!r}")
    _check_session_times(mediation_session, held_at, follow_up_on, now)
    checked = _check_terms(terms, result, held_at)
    mediation_session.notes = _text("notes", notes, MediationError, required=False)
    mediation_session.held_at = held_at
    mediation_session.result = result
    mediation_session.follow_up_on = follow_up_on
    session.add(mediation_session)
    _replace_terms(session, mediation_session, checked, actor_id)
    return len(checked)


def record_mediation_result(
    session: Session,
    mediation_session: MediationSession,
    held_at: datetime,
    notes: str | None,
    result: str,
    actor_id: int | None,
    *,
    terms: Iterable[RemedyTerm] = (),
    follow_up_on: date | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> MediationSession:
    """Record when a session was held, its notes, result and, for an agreement, its terms as
    remedy lines (once: a correction is `amend_mediation_result`); raises MediationError."""
    case = session.get_one(Case, mediation_session.case_id)
    check_editable(case, expected_version)
    if mediation_session.result is not None:
        raise MediationError("this session's result is already recorded; amend it instead")
    lines = _set_result(session, mediation_session, held_at, notes, result, actor_id, terms, follow_up_on, now)
    record_event(
        session,
        action="mediation_result",
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff" if actor_id else "system",
        mediation_session_id=mediation_session.id,
        result=result,
        remedy_lines=lines,
        follow_up_on=follow_up_on.isoformat() if follow_up_on else None,
    )
    return mediation_session


def amend_mediation_result(
    session: Session,
    mediation_session: MediationSession,
    held_at: datetime,
    notes: str | None,
    result: str,
    actor_id: int | None,
    *,
    reason: str,
    terms: Iterable[RemedyTerm] = (),
    follow_up_on: date | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> MediationSession:
    """Correct a recorded result (and its terms), with a reason; audited with what it was before.

    Raises MediationError, CaseClosed or StaleCase, changing nothing.
    """
    case = session.get_one(Case, mediation_session.case_id)
    check_editable(case, expected_version)
    if mediation_session.result is None:
        raise MediationError("this session has no result to amend yet; record it first")
    if not (reason or "").strip():
        raise MediationError("say why the result is amended (the reason is kept as a note)")
    before = mediation_session.result
    before_lines = len(
        session.exec(select(RemedyLine.id).where(RemedyLine.mediation_session_id == mediation_session.id)).all()
    )
    lines = _set_result(session, mediation_session, held_at, notes, result, actor_id, terms, follow_up_on, now)
    record_event(
        session,
        action="mediation_result_amended",
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff" if actor_id else "system",
        mediation_session_id=mediation_session.id,
        from_result=before,
        result=result,
        remedy_lines_before=before_lines,
        remedy_lines=lines,
        **reason_detail(session, case, actor_id, reason),
    )
    return mediation_session


def remedy_lines(session: Session, case: Case) -> list[RemedyLine]:
    """The case's remedy lines, by due date (undated last)."""
    rows = session.exec(select(RemedyLine).where(RemedyLine.case_id == case.id).order_by(col(RemedyLine.id))).all()
    return sorted(rows, key=lambda line: (line.due_on is None, line.due_on or date.max, line.id or 0))


@dataclass(frozen=True)
class MediatorAgenda:
    """What a mediator has ahead: sessions without a result yet, and agreements to follow up."""

    sessions: list[MediationSession]
    follow_ups: list[MediationSession]


def mediator_agenda(session: Session, mediator_id: int | None) -> MediatorAgenda:
    """Sessions still to hold or record (soonest first) and follow-ups on open cases (soonest
    first), for one mediator or (None) for everyone."""
    pending = select(MediationSession).where(col(MediationSession.result).is_(None))
    follow = (
        select(MediationSession)
        .join(Case, col(Case.id) == MediationSession.case_id)
        .where(col(MediationSession.follow_up_on).is_not(None), Case.status != CaseStatus.CLOSED)
    )
    if mediator_id is not None:
        pending = pending.where(MediationSession.mediator_id == mediator_id)
        follow = follow.where(MediationSession.mediator_id == mediator_id)
    return MediatorAgenda(
        sessions=list(session.exec(pending.order_by(col(MediationSession.scheduled_at), col(MediationSession.id)))),
        follow_ups=list(session.exec(follow.order_by(col(MediationSession.follow_up_on), col(MediationSession.id)))),
    )


def _amount(value: Decimal | int | str | None, label: str, error: type[CaseworkError]) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise error(f'{label} must be a decimal string such as "1250.00", not a float')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise error(f"{label} is not a number: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise error(f"{label} must be zero or more")
    if amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise error(f"{label} must have at most 2 decimals and 12 digits before them")
    return amount.quantize(Decimal("0.01"))


def _money(
    value: Decimal | int | str | None, currency: str | None, label: str, error: type[CaseworkError]
) -> tuple[Decimal | None, str | None]:
    """An amount and its ISO 4217 currency, both or neither; raises `error` naming `label`."""
    amount = _amount(value, label, error)
    code = currency.strip() if isinstance(currency, str) and currency.strip() else None
    if code is not None and not (len(code) == 3 and code.isupper() and is_currency(code)):
        raise error(f"currency must be an ISO 4217 code such as USD or PHP; got {currency!r}")
    if amount is not None and code is None:
        raise error(f"{label} needs its currency")
    if code is not None and amount is None:
        raise error(f"a currency was given without {label}")
    return amount, code


def record_outcome(
    session: Session,
    case: Case,
    *,
    resolution_type: str,
    remedies: Iterable[str],
    amount_recovered: Decimal | int | str | None,
    currency: str | None,
    inspection_requested: bool,
    sanction_reported: bool,
    actor_id: int | None,
    expected_version: int | None = None,
) -> Outcome:
    """Record (or correct) the case's outcome; raises OutcomeError, CaseClosed or StaleCase."""
    check_editable(case, expected_version)
    if resolution_type not in RESOLUTION_TYPES:
        if not resolution_type:
            raise OutcomeError("choose a resolution")
        raise OutcomeError(f"unknown resolution {resolution_type!r}; choose one of {', '.join(RESOLUTION_TYPES)}")
    if isinstance(remedies, str):
        raise OutcomeError("remedies must be a list")
    chosen = list(dict.fromkeys(remedies))
    unknown = [r for r in chosen if r not in REMEDIES]
    if unknown:
        raise OutcomeError(f"unknown remedy {unknown[0]!r}; choose from {', '.join(REMEDIES)}")
    amount, code = _money(amount_recovered, currency, "the amount recovered", OutcomeError)
    if not isinstance(inspection_requested, bool) or not isinstance(sanction_reported, bool):
        raise OutcomeError("inspection requested and sanction reported must be true or false")
    outcome = session.exec(select(Outcome).where(Outcome.case_id == case.id)).first()
    action = "outcome_corrected" if outcome is not None else "outcome_recorded"
    assert case.id is not None
    outcome = outcome or Outcome(case_id=case.id, resolution_type=resolution_type)
    outcome.resolution_type = resolution_type
    outcome.remedies = chosen
    outcome.amount_recovered = amount
    outcome.currency = code
    outcome.inspection_requested = inspection_requested
    outcome.sanction_reported = sanction_reported
    outcome.recorded_by_id = actor_id
    session.add(outcome)
    case.updated_at = utcnow()
    session.add(case)
    session.flush()
    record_event(
        session,
        action=action,
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff" if actor_id else "system",
        resolution_type=resolution_type,
        remedies=chosen,
        has_amount=amount is not None,
        currency=code,
        inspection_requested=inspection_requested,
        sanction_reported=sanction_reported,
    )
    return outcome


def refer_to_mediation(
    session: Session,
    case: Case,
    mediator_id: int,
    actor_id: int | None,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
) -> Case:
    """Move the case to the mediation route and hand it to `mediator_id` (status in_mediation).

    Only an admin or an ombudsperson may (ReferralNotAllowed): a mediator can't pass a case on.
    """
    _require_referrer(session, actor_id)
    check_editable(case, expected_version)
    mediator = _mediator(session, mediator_id)
    status = CaseStatus(case.status)
    if status not in (CaseStatus.NEW, CaseStatus.TRIAGED) and CaseStatus.IN_MEDIATION not in LEGAL_TRANSITIONS[status]:
        raise ReferralError(f"a {status.value} case cannot be referred to mediation")
    previous_route = case.route
    case.route = Route.MEDIATION
    if case.assignee_id != mediator.id:
        try:
            assign_case(session, case, mediator.id or 0, actor_id, reason or "referred_to_mediation")
        except CaseworkError:
            case.route = previous_route
            raise
    if case.status is not CaseStatus.IN_MEDIATION:
        transition(session, case, CaseStatus.IN_MEDIATION, actor_id=actor_id, reason="referred_to_mediation")
    record_event(
        session,
        action="referred_to_mediation",
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff" if actor_id else "system",
        from_route=previous_route,
        mediator_id=mediator_id,
    )
    return case


def refer_to_inspection(
    session: Session,
    case: Case,
    actor_id: int | None,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
) -> Case:
    """Refer the case to the labour inspectorate (status referred, audited); admins and
    ombudspersons only (ReferralNotAllowed)."""
    _require_referrer(session, actor_id)
    check_editable(case, expected_version)
    if CaseStatus.REFERRED not in LEGAL_TRANSITIONS[CaseStatus(case.status)]:
        raise ReferralError(f"a {case.status} case cannot be referred to inspection; assign it first")
    detail = reason_detail(session, case, actor_id, reason)
    transition(session, case, CaseStatus.REFERRED, actor_id=actor_id, reason="labour_inspection")
    record_event(
        session,
        action="referred_to_inspection",
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff" if actor_id else "system",
        **detail,
    )
    return case
