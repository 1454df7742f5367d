"""Cases: public references and PINs, opening or attaching, and the legal state transitions."""

from __future__ import annotations

import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.editing import CaseworkError
from casework.models import Case, CaseStatus, ChannelKind, DeliveryStatus, Direction, Message, Reporter, utcnow

# Crockford's base32 without I, L, O, U: nothing a reporter can misread or mistype on a keypad.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 8
PIN_DIGITS = 6
OPEN_STATUSES = (
    CaseStatus.NEW,
    CaseStatus.TRIAGED,
    CaseStatus.ASSIGNED,
    CaseStatus.INVESTIGATING,
    CaseStatus.IN_MEDIATION,
    CaseStatus.REFERRED,
    CaseStatus.RESOLVED,
)

LEGAL_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset({CaseStatus.TRIAGED, CaseStatus.ASSIGNED, CaseStatus.CLOSED}),
    CaseStatus.TRIAGED: frozenset({CaseStatus.ASSIGNED, CaseStatus.CLOSED}),
    CaseStatus.ASSIGNED: frozenset(
        {CaseStatus.INVESTIGATING, CaseStatus.IN_MEDIATION, CaseStatus.REFERRED, CaseStatus.RESOLVED, CaseStatus.CLOSED}
    ),
    CaseStatus.INVESTIGATING: frozenset(
        {CaseStatus.IN_MEDIATION, CaseStatus.REFERRED, CaseStatus.RESOLVED, CaseStatus.CLOSED}
    ),
    CaseStatus.IN_MEDIATION: frozenset(
        {CaseStatus.INVESTIGATING, CaseStatus.REFERRED, CaseStatus.RESOLVED, CaseStatus.CLOSED}
    ),
    CaseStatus.REFERRED: frozenset({CaseStatus.INVESTIGATING, CaseStatus.RESOLVED, CaseStatus.CLOSED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED, CaseStatus.INVESTIGATING}),
    CaseStatus.CLOSED: frozenset({CaseStatus.INVESTIGATING}),  # reopen
}

_pin_hasher = PasswordHasher()


class IllegalTransition(ValueError):
    """The case cannot move from its current state to the requested one."""


def format_reference(raw: str) -> str:
    return f"{raw[:4]}-{raw[4:]}"


def new_reference() -> str:
    return format_reference("".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH)))


_LOOKALIKES = str.maketrans("OIL", "011")


def normalize_reference(text: str) -> str | None:
    """Accept what a reporter types (lower case, spaces, O for 0, I/L for 1); None if malformed."""
    cleaned = text.strip().upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.translate(_LOOKALIKES)
    if len(cleaned) != REFERENCE_LENGTH or any(c not in REFERENCE_ALPHABET for c in cleaned):
        return None
    return format_reference(cleaned)


def new_pin(digits: int = PIN_DIGITS) -> str:
    """A random code of `digits` decimal digits (a case's PIN, a number's verification code)."""
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def hash_pin(pin: str) -> str:
    return _pin_hasher.hash(pin)


def pin_matches(pin_hash: str | None, pin: str) -> bool:
    if not pin_hash:
        return False
    try:
        return _pin_hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def find_open_case(session: Session, reporter_id: int) -> Case | None:
    statement = (
        select(Case)
        .where(Case.reporter_id == reporter_id, col(Case.status).in_(OPEN_STATUSES))
        .order_by(col(Case.created_at).desc())
        .limit(1)
    )
    return session.exec(statement).first()


def open_case(
    session: Session, *, reporter: Reporter, channel: ChannelKind | str, language: str | None, pin: str | None = None
) -> Case:
    """Open a new case for `reporter` with a fresh unique reference (and a PIN hash if given)."""
    assert reporter.id is not None
    for _ in range(5):
        case = Case(
            reference=new_reference(),
            reporter_id=reporter.id,
            channel=ChannelKind(channel),
            language=language,
            pin_hash=hash_pin(pin) if pin else None,
        )
        try:
            with session.begin_nested():
                session.add(case)
                session.flush()
        except IntegrityError:
            continue  # a reference collision (1 in 10^12): draw again
        record_event(session, action="case_opened", case_id=case.id, channel=str(channel))
        return case
    raise RuntimeError("could not draw a unique case reference")


def open_or_attach(
    session: Session, *, reporter: Reporter, channel: ChannelKind | str, language: str | None
) -> tuple[Case, bool]:
    """The reporter's open case, or a new one. Returns (case, opened)."""
    assert reporter.id is not None
    existing = find_open_case(session, reporter.id)
    if existing is not None:
        return existing, False
    return open_case(session, reporter=reporter, channel=channel, language=language), True


def transition(
    session: Session,
    case: Case,
    to: CaseStatus,
    *,
    actor_id: int | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move `case` to `to` if the transition is legal, stamping clocks and auditing it.

    Raises IllegalTransition, and changes nothing, otherwise.
    """
    current = CaseStatus(case.status)
    if to not in LEGAL_TRANSITIONS[current]:
        raise IllegalTransition(f"a {current.value} case cannot become {to.value}")
    moment = now or utcnow()
    case.status = to
    case.updated_at = moment
    if to is CaseStatus.RESOLVED:
        case.resolved_at = moment
    elif to is CaseStatus.CLOSED:
        case.closed_at = moment
    elif current is CaseStatus.CLOSED:
        case.closed_at = None
        case.resolved_at = None
    session.add(case)
    record_event(
        session,
        action="status_changed",
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff" if actor_id else "system",
        **{"from": current.value, "to": to.value},
        reason=reason,
    )


# A reply that never reached the worker is no answer.
NOT_DELIVERED = (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED, DeliveryStatus.SUPPRESSED)


class UnansweredClose(CaseworkError):
    """Closing a case whose reporter never got a reply, without confirming it."""


def reporter_answered(session: Session, case: Case) -> bool:
    """Whether a staff reply on the case is on its way to, or has reached, the reporter: sent, or
    readable on /status (every reply is, on a case with a PIN, even one no channel could carry)."""
    undelivered = [s for s in NOT_DELIVERED if not (case.pin_hash and s is DeliveryStatus.SUPPRESSED)]
    statement = select(Message.id).where(
        Message.case_id == case.id,
        Message.direction == Direction.OUTBOUND,
        Message.kind == "reply",
        col(Message.delivery_status).is_(None) | col(Message.delivery_status).not_in(undelivered),
    )
    return session.exec(statement.limit(1)).first() is not None


def close_case(
    session: Session,
    case: Case,
    *,
    actor_id: int | None,
    confirm_unanswered: bool = False,
    reason: str | None = None,
) -> bool:
    """Close the case. A worker who never got a reply would be left without a word: that needs
    `confirm_unanswered`, and is audited as `closed_without_reply`. Returns whether it was.

    Raises UnansweredClose or IllegalTransition, changing nothing.
    """
    answered = reporter_answered(session, case)
    if not answered and not confirm_unanswered:
        raise UnansweredClose(
            "the worker has never received a reply on this case: send one first, "
            "or confirm that you are closing it without a reply"
        )
    transition(session, case, CaseStatus.CLOSED, actor_id=actor_id, reason=reason)
    if not answered:
        record_event(
            session,
            action="closed_without_reply",
            case_id=case.id,
            actor_id=actor_id,
            actor_kind="staff" if actor_id else "system",
        )
    return not answered
