"""Proving a phone number typed into the web form, before it links to anything.

Anyone can type anyone's number into a form. So a web reporter's number is kept aside
(`ContactVerification`, encrypted) and only a code is sent to it; the number joins the
reporter (their SMS/WhatsApp conversation, replies by message) once that code is entered on
/status with the case's reference and PIN. Until then the case is read and answered on /status
only, and SMS from that number never attach to it. Nothing here commits; the caller does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from casework.audit import record_event
from casework.cases import hash_pin, new_pin, pin_matches
from casework.intake import contact_key, find_reporter
from casework.models import (
    Case,
    ChannelKind,
    ContactVerification,
    Message,
    Reporter,
    utcnow,
)
from casework.outbox import VERIFICATION_CODE_KIND, may_send, queue_outbound
from casework.texts import render_text

CODE_KIND = VERIFICATION_CODE_KIND
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=30)
MAX_CODE_SENDS = 3  # per case: Tulay must not become a way to flood someone's phone
RESEND_AFTER = timedelta(minutes=1)
MAX_FAILED_ATTEMPTS = 5  # then the code is void; a new one must be asked for


class VerifyOutcome(StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"  # wrong or expired code
    LOCKED = "locked"  # too many wrong codes: ask for a new one
    NOTHING_PENDING = "nothing_pending"


class ResendOutcome(StrEnum):
    SENT = "sent"
    TOO_SOON = "too_soon"
    LIMIT = "limit"
    NOTHING_PENDING = "nothing_pending"


def pending_verification(session: Session, case: Case) -> ContactVerification | None:
    """The case's number still waiting to be proven, if any."""
    row = session.exec(select(ContactVerification).where(ContactVerification.case_id == case.id)).first()
    return row if row is not None and row.verified_at is None and row.contact is not None else None


def _send_code(session: Session, case: Case, row: ContactVerification, now: datetime) -> Message:
    code = new_pin(CODE_DIGITS)
    row.code_hash = hash_pin(code)
    row.code_expires_at = now + CODE_LIFETIME
    row.code_sends += 1
    row.failed_attempts = 0
    session.add(row)
    reporter = session.get_one(Reporter, case.reporter_id)
    record_event(session, action="contact_code_sent", case_id=case.id, actor_kind="reporter", sends=row.code_sends)
    # Always by SMS: a code must reach the number even outside WhatsApp's 24-hour window.
    return queue_outbound(
        session,
        reporter=reporter,
        case=case,
        body=render_text(CODE_KIND, case.language or reporter.language, code=code),
        kind=CODE_KIND,
        channel=ChannelKind.SMS,
    )


def start_verification(
    session: Session, case: Case, contact: str, contact_channel: ChannelKind | str, *, now: datetime | None = None
) -> ContactVerification:
    """Keep `contact` aside for `case` and send it a code (queued in the caller's transaction)."""
    moment = now or utcnow()
    assert case.id is not None
    row = ContactVerification(case_id=case.id, contact=contact, contact_channel=ChannelKind(contact_channel))
    session.add(row)
    session.flush()
    _send_code(session, case, row, moment)
    return row


def resend_code(session: Session, case: Case, *, now: datetime | None = None) -> ResendOutcome:
    """Send a new code, at most MAX_CODE_SENDS per case and once a minute."""
    moment = now or utcnow()
    row = pending_verification(session, case)
    if row is None:
        return ResendOutcome.NOTHING_PENDING
    if row.code_sends >= MAX_CODE_SENDS:
        return ResendOutcome.LIMIT
    sent_at = row.code_expires_at - CODE_LIFETIME if row.code_expires_at else None
    if sent_at is not None and moment - sent_at < RESEND_AFTER:
        return ResendOutcome.TOO_SOON
    _send_code(session, case, row, moment)
    return ResendOutcome.SENT


def normalize_code(code: str) -> str:
    return "".join(code.split())[: CODE_DIGITS * 2]


def verify_contact(session: Session, case: Case, code: str, *, now: datetime | None = None) -> VerifyOutcome:
    """Check the code; on success the number joins the reporter (see the module docstring).

    If the number already belongs to a reporter (they have texted us), the case moves to that
    reporter: their phone proved it is theirs. Fields already known about that reporter are
    kept; the web reporter's are used only where none is known.
    """
    moment = now or utcnow()
    row = pending_verification(session, case)
    if row is None:
        return VerifyOutcome.NOTHING_PENDING
    if row.failed_attempts >= MAX_FAILED_ATTEMPTS:
        return VerifyOutcome.LOCKED
    fresh = row.code_expires_at is not None and row.code_expires_at > moment
    right = pin_matches(row.code_hash, normalize_code(code))  # checked even when expired: same time either way
    if not (fresh and right):
        row.failed_attempts += 1
        session.add(row)
        record_event(session, action="contact_code_refused", case_id=case.id, actor_kind="reporter")
        return VerifyOutcome.LOCKED if row.failed_attempts >= MAX_FAILED_ATTEMPTS else VerifyOutcome.WRONG
    contact = row.contact
    assert contact is not None
    web_reporter = session.get_one(Reporter, case.reporter_id)
    owner = find_reporter(session, contact)
    if owner is None:
        try:
            with session.begin_nested():
                web_reporter.contact, web_reporter.contact_hash = contact, contact_key(contact)
                web_reporter.contact_channel = row.contact_channel
                session.add(web_reporter)
                session.flush()
        except IntegrityError:  # the number texted us at this very moment: join that reporter
            owner = find_reporter(session, contact)
            assert owner is not None
    if owner is not None and owner.id != web_reporter.id:
        _move_case(session, case, web_reporter, owner, row.contact_channel)
    row.verified_at, row.contact, row.code_hash = moment, None, None
    session.add(row)
    record_event(session, action="contact_verified", case_id=case.id, actor_kind="reporter")
    return VerifyOutcome.VERIFIED


def _move_case(session: Session, case: Case, web_reporter: Reporter, owner: Reporter, channel: ChannelKind) -> None:
    """Give `case` (and its messages) to the reporter who owns the proven number."""
    owner.name = owner.name or web_reporter.name
    owner.contact_channel = owner.contact_channel or channel
    owner.language = owner.language or web_reporter.language
    web_reporter.name = None
    case.reporter_id = owner.id  # type: ignore[assignment]
    for message in session.exec(select(Message).where(Message.case_id == case.id)).all():
        message.reporter_id = owner.id
        session.add(message)
    session.add_all([owner, web_reporter, case])


def destination(session: Session, reporter: Reporter, message: Message) -> str | None:
    """The number `message` may go to now, or None (checked at send time, after any STOP).

    A code goes to the pending number, unless whoever owns it has opted out; everything else
    goes only to the reporter's proven contact.
    """
    if message.kind != CODE_KIND:
        return reporter.contact if may_send(reporter, message) else None
    if message.case_id is None or reporter.erased_at is not None:
        return None
    row = session.exec(select(ContactVerification).where(ContactVerification.case_id == message.case_id)).first()
    if row is None or row.contact is None or row.verified_at is not None:
        return None
    owner = find_reporter(session, row.contact)
    if owner is not None and (owner.opted_out or owner.erased_at is not None):
        return None
    return row.contact
