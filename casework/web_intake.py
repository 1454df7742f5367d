"""Web intake: a report opens its case at once (reference + PIN), and the reporter follows up
with reference + PIN (lockout after repeated failures). Nothing here commits; the view does.

A reference alone reveals nothing: an unknown reference, a wrong PIN and a locked case all
give the same answer (None), after the same argon2 work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.cases import hash_pin, normalize_reference, open_case, pin_matches
from casework.intake import InboundMessage, store_inbound
from casework.models import Case, ChannelKind, Direction, Message, Reporter, utcnow
from casework.privacy import employer_key
from casework.verification import start_verification

PIN_MAX_FAILURES = 5
PIN_LOCK = timedelta(minutes=15)
# Verified against when the reference is unknown, so that answer takes as long as a wrong PIN.
_DUMMY_PIN_HASH = hash_pin("000000")


def submit_web_report(
    session: Session,
    inbound: InboundMessage,
    *,
    pin: str,
    country: str,
    sector: str | None,
    employer: str | None,
    name: str | None,
    contact_channel: str | None = None,
) -> Case:
    """Store a web report: a reporter of its own, the case (with the PIN's hash) and the message.

    A number typed into the form links to nothing: it waits, encrypted, for its owner to enter
    the code sent to it (`casework/verification.py`), so nobody can attach a report to someone
    else's conversation by typing their number. The message stays `received`, so the intake
    job processes it like any other (its case is already set). All in the caller's transaction.
    """
    reporter = Reporter(name=name or None, language=inbound.language_hint)
    session.add(reporter)
    session.flush()
    message = store_inbound(session, inbound, reporter_id=reporter.id)
    case = open_case(session, reporter=reporter, channel=ChannelKind.WEB, language=inbound.language_hint, pin=pin)
    case.country = country
    case.sector = sector
    if employer:
        case.employer_name = employer
        case.employer_pseudonym = employer_key(employer)
    message.case_id = case.id
    session.add_all([case, message])
    session.flush()
    if inbound.sender:
        start_verification(session, case, inbound.sender, contact_channel or ChannelKind.SMS)
    return case


def last_inbound_id(session: Session, case: Case) -> int:
    """The id of the case's newest message from the reporter (0 if none)."""
    statement = (
        select(Message.id)
        .where(Message.case_id == case.id, Message.direction == Direction.INBOUND)
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    return session.exec(statement).first() or 0


def add_followup(session: Session, case: Case, inbound: InboundMessage) -> Message:
    """Store a message the reporter added on /status, attached to `case`, for the intake job."""
    return store_inbound(session, inbound, reporter_id=case.reporter_id, case_id=case.id)


def open_case_with_pin(session: Session, reference: str, pin: str, *, now: datetime | None = None) -> Case | None:
    """The case for `reference` if `pin` is right and the case is not locked; otherwise None.

    A wrong PIN counts a failure; PIN_MAX_FAILURES in a row lock the case for PIN_LOCK.
    Failures are written with a plain UPDATE, so they never collide with a staff edit of the
    case (optimistic version column). The caller commits.
    """
    moment = now or utcnow()
    normalized = normalize_reference(reference)
    case = None
    if normalized is not None:
        case = session.exec(select(Case).where(Case.reference == normalized)).first()
    if case is None or case.pin_hash is None:
        pin_matches(_DUMMY_PIN_HASH, pin)
        return None
    locked = case.pin_locked_until is not None and case.pin_locked_until > moment
    right = pin_matches(case.pin_hash, pin)  # checked even when locked: same time either way
    table = Case.__table__  # type: ignore[attr-defined]
    if locked:
        record_event(session, action="status_pin_refused", case_id=case.id, actor_kind="reporter", reason="locked")
        return None
    if not right:
        # Counted in SQL (the row stays locked until commit), so parallel guesses can't undercount.
        this_case = table.c.id == case.id
        session.execute(update(table).where(this_case).values(pin_failures=table.c.pin_failures + 1))
        failures = session.execute(select(table.c.pin_failures).where(this_case)).scalar_one()
        locking = failures >= PIN_MAX_FAILURES
        if locking:
            session.execute(update(table).where(this_case).values(pin_failures=0, pin_locked_until=moment + PIN_LOCK))
        record_event(
            session,
            action="status_pin_refused",
            case_id=case.id,
            actor_kind="reporter",
            reason="locked_now" if locking else "wrong_pin",
        )
        return None
    if case.pin_failures or case.pin_locked_until is not None:
        session.execute(update(table).where(table.c.id == case.id).values(pin_failures=0, pin_locked_until=None))
    record_event(session, action="status_viewed", case_id=case.id, actor_kind="reporter")
    return case


def staff_replies(session: Session, case_id: int) -> list[Message]:
    """Messages staff wrote to the reporter on this case, oldest first (already in their language)."""
    statement = (
        select(Message)
        .where(
            Message.case_id == case_id,
            Message.direction == Direction.OUTBOUND,
            (col(Message.author_id).is_not(None)) | (Message.kind == "reply"),
        )
        .order_by(col(Message.created_at), col(Message.id))
    )
    return list(session.exec(statement).all())
