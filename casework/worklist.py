"""What staff work from, for the console and the API alike: the queue (validated filters, one
indexed, paginated query, no N+1), a case found by its reference, and a case's history."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy import case as when
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from casework.access import StaffLike, restrict_to_visible
from casework.cases import OPEN_STATUSES, REFERENCE_ALPHABET, normalize_reference
from casework.editing import CaseworkError
from casework.models import (
    URGENCY_RANK,
    Case,
    CaseEvent,
    CaseStatus,
    Category,
    ChannelKind,
    Direction,
    MediationSession,
    Message,
    Note,
    Outcome,
    Reporter,
    Route,
    StaffUser,
    Urgency,
    queue_keys,
    utcnow,
)
from casework.privacy import InvalidPhoneNumber, employer_key, lookup_hash, normalize_phone

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n", ""}
# Statuses whose resolution clock is still running.
UNRESOLVED_STATUSES = tuple(s for s in OPEN_STATUSES if s is not CaseStatus.RESOLVED)


PREVIEW_CHARS = 120
SORTS = ("triage", "newest", "oldest", "due", "urgency")
_PHONE_LIKE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


class InvalidFilter(CaseworkError):
    """A queue filter value is not acceptable; the message names the filter."""


def _enum(name: str, raw: str, choices: type[Any]) -> Any:
    try:
        return choices(raw.strip().lower())
    except ValueError:
        allowed = ", ".join(c.value for c in choices)
        raise InvalidFilter(f"{name} must be one of {allowed}; got {raw!r}") from None


def _bool(name: str, raw: str) -> bool | None:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return None if value == "" else False
    raise InvalidFilter(f"{name} must be true or false; got {raw!r}")


# Largest id a database integer column holds: a larger one is no id at all (a 400, not a 500).
MAX_ID = 2**31 - 1


def _int(name: str, raw: str, minimum: int, maximum: int | None = None) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidFilter(f"{name} must be a whole number; got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise InvalidFilter(f"{name} must be {bound}; got {value}")
    return value


def _reference_prefix(raw: str) -> str:
    """Normalize what staff type (lower case, no dash, O for 0) into a reference prefix."""
    cleaned = raw.strip().upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    if len(cleaned) > 8 or any(c not in REFERENCE_ALPHABET for c in cleaned):
        raise InvalidFilter("q must be (part of) a case reference such as K7M2-9QXD")
    return cleaned if len(cleaned) <= 4 else f"{cleaned[:4]}-{cleaned[4:]}"


def _code_filter(name: str, raw: str, length: int) -> str:
    value = raw.strip()
    if not (1 <= len(value) <= length and all(c.isalnum() or c in "_-" for c in value)):
        raise InvalidFilter(f"{name} must be a code of letters, digits, - or _ (at most {length}); got {raw!r}")
    return value


PHONE_PATTERN = r"^\+[0-9][0-9 ().-]{5,30}$"
NO_REPORTER = "-"  # no keyed hash (hex) is this: a number no reporter can have matches nobody


def _phone_key(raw: str) -> str:
    """The reporters' keyed hash of the number staff typed (never a scan of stored numbers).

    Text that is no phone number at all is refused; a well-formed number that cannot exist
    (`phonenumbers` says so) is nobody's, since reporters' numbers are stored normalized."""
    if not re.match(PHONE_PATTERN, raw.strip()):
        raise InvalidFilter("phone must be a phone number in international form, such as +63 917 123 4567")
    try:
        return lookup_hash("phone", normalize_phone(raw))
    except InvalidPhoneNumber:
        return NO_REPORTER


def _employer(raw: str) -> str:
    if not raw.strip() or len(raw) > 200:
        raise InvalidFilter("employer must be an employer's name (at most 200 characters)")
    return employer_key(raw)


@dataclass(frozen=True)
class QueueFilters:
    """What the queue shows, and in which order. `assignee_id` 0 means unassigned; `q` is a
    (partial) case reference; `phone` and `employer` hold keyed hashes of what was typed (so a
    filter object never carries the personal value itself); `mine` is the signed-in user's cases."""

    route: Route | None = None
    status: CaseStatus | None = None
    urgency: Urgency | None = None
    language: str | None = None
    overdue: bool | None = None
    needs_human_translation: bool | None = None
    assignee_id: int | None = None
    mine: bool | None = None
    wrote_back: bool | None = None
    category: Category | None = None
    country: str | None = None
    sector: str | None = None
    channel: ChannelKind | None = None
    q: str | None = None
    employer: str | None = None
    phone: str | None = None
    sort: str = "triage"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> QueueFilters:
        """Parse query-string style values (a dict or a MultiDict); raise InvalidFilter on bad ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(args) - known)
        if unknown:
            raise InvalidFilter(f"unknown filter {unknown[0]!r}; known filters: {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for name in known:
            raw = args.get(name)
            if raw is None or (isinstance(raw, str) and raw.strip() == "" and name not in ("overdue",)):
                continue
            raw = str(raw)
            if name == "route":
                values[name] = _enum(name, raw, Route)
            elif name == "status":
                values[name] = _enum(name, raw, CaseStatus)
            elif name == "urgency":
                values[name] = _enum(name, raw, Urgency)
            elif name == "category":
                values[name] = _enum(name, raw, Category)
            elif name == "channel":
                values[name] = _enum(name, raw, ChannelKind)
            elif name == "language":
                code = raw.strip().lower()
                if not (2 <= len(code) <= 8 and code.replace("-", "").isalpha()):
                    raise InvalidFilter(f"language must be a language code such as es or tl; got {raw!r}")
                values[name] = code
            elif name == "country":
                code = raw.strip().upper()
                if not (len(code) == 2 and code.isascii() and code.isalpha()):
                    raise InvalidFilter(f"country must be a two-letter country code such as SA or MY; got {raw!r}")
                values[name] = code
            elif name == "sector":
                values[name] = _code_filter(name, raw.lower(), 32)
            elif name in ("overdue", "needs_human_translation", "mine", "wrote_back"):
                values[name] = _bool(name, raw)
            elif name == "assignee_id":
                values[name] = 0 if raw.strip().lower() in ("none", "unassigned") else _int(name, raw, 0, MAX_ID)
            elif name == "q":
                values[name] = _reference_prefix(raw)
            elif name == "employer":
                values[name] = _employer(raw)
            elif name == "phone":
                values[name] = _phone_key(raw)
            elif name == "sort":
                sort = raw.strip().lower()
                if sort not in SORTS:
                    raise InvalidFilter(f"sort must be one of {', '.join(SORTS)}; got {raw!r}")
                values[name] = sort
            elif name == "page":
                values[name] = _int(name, raw, 1, 100_000)
            elif name == "per_page":
                values[name] = _int(name, raw, 1, MAX_PER_PAGE)
        return cls(**values)


@dataclass(frozen=True)
class Preview:
    """The start of a case's latest inbound message, as written and as translated."""

    original: str
    translation: str | None


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue: the case, its assignee's display name, whether it is overdue, its
    next deadline, and a preview of what the reporter wrote last."""

    case: Case
    assignee_name: str | None
    overdue: bool
    due_at: datetime | None = None
    preview: Preview | None = None


def overdue_condition(now: datetime) -> Any:
    """SQL condition: an open case whose first-response or resolution deadline has passed."""
    first_late = and_(col(Case.first_response_at).is_(None), col(Case.first_response_due_at) < now)
    resolution_late = and_(col(Case.status).in_(UNRESOLVED_STATUSES), col(Case.resolution_due_at) < now)
    return and_(col(Case.status).in_(OPEN_STATUSES), or_(first_late, resolution_late))


def is_overdue(case: Case, now: datetime | None = None) -> bool:
    moment = now or utcnow()
    if case.status not in OPEN_STATUSES:
        return False
    if case.first_response_at is None and case.first_response_due_at and case.first_response_due_at < moment:
        return True
    return bool(case.status in UNRESOLVED_STATUSES and case.resolution_due_at and case.resolution_due_at < moment)


def next_due(case: Case) -> datetime | None:
    """The case's earliest deadline still running: the first response (unanswered open case) or
    the resolution (unresolved case); None when no clock runs (stored as `Case.queue_due_at`)."""
    return queue_keys(case)[1]


def urgency_rank() -> Any:
    """SQL: 0 for critical … 3 for low."""
    return when({u.value: rank for u, rank in URGENCY_RANK.items()}, value=col(Case.urgency), else_=len(URGENCY_RANK))


def queue_order(sort: str) -> list[Any]:
    """ORDER BY for `sort`. The default (triage): cases waiting for a person's triage, then by
    urgency (critical first), then by deadline (overdue first, then soonest due; none last), then
    id, which is the index ix_case_queue_order over the stored keys (`casework.models.queue_keys`)."""
    due = col(Case.queue_due_at).asc().nulls_last()
    if sort == "newest":
        return [col(Case.created_at).desc(), col(Case.id).desc()]
    if sort == "oldest":
        return [col(Case.created_at).asc(), col(Case.id).asc()]
    if sort == "due":
        return [due, col(Case.id).asc()]
    if sort == "urgency":
        return [urgency_rank().asc(), due, col(Case.id).asc()]
    return [col(Case.queue_rank).asc(), due, col(Case.id).asc()]


def filtered_cases(user: StaffLike, filters: QueueFilters, now: datetime | None = None) -> Any:
    """The select over Case for `filters`, restricted to what `user` may see (no ordering)."""
    moment = now or utcnow()
    statement = restrict_to_visible(select(Case), user)
    for name in ("route", "status", "urgency", "language", "category", "country", "sector", "channel"):
        value = getattr(filters, name)
        if value is not None:
            statement = statement.where(getattr(Case, name) == value)
    if filters.needs_human_translation is not None:
        statement = statement.where(Case.needs_human_translation == filters.needs_human_translation)
    if filters.assignee_id == 0:
        statement = statement.where(col(Case.assignee_id).is_(None))
    elif filters.assignee_id is not None:
        statement = statement.where(Case.assignee_id == filters.assignee_id)
    if filters.mine is True:
        statement = statement.where(Case.assignee_id == user.id)
    elif filters.mine is False:
        statement = statement.where(or_(col(Case.assignee_id).is_(None), Case.assignee_id != user.id))
    if filters.wrote_back is True:
        statement = statement.where(col(Case.reporter_wrote_back_at).is_not(None))
    elif filters.wrote_back is False:
        statement = statement.where(col(Case.reporter_wrote_back_at).is_(None))
    if filters.overdue is True:
        statement = statement.where(overdue_condition(moment))
    elif filters.overdue is False:
        statement = statement.where(~overdue_condition(moment))
    if filters.q:
        statement = statement.where(col(Case.reference).startswith(filters.q, autoescape=True))
    if filters.employer:
        statement = statement.where(Case.employer_pseudonym == filters.employer)
    if filters.phone:
        reporters = select(Reporter.id).where(Reporter.contact_hash == filters.phone)
        statement = statement.where(col(Case.reporter_id).in_(reporters.scalar_subquery()))
    return statement


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    text = _PHONE_LIKE.sub("[number]", " ".join(text.split()))  # a number the reporter typed stays off the queue
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1].rstrip() + "…"


def previews(session: Session, case_ids: list[int]) -> dict[int, Preview]:
    """Per case, the start of its latest inbound message (one query for the ids, one for the rows)."""
    if not case_ids:
        return {}
    latest = (
        select(func.max(Message.id))
        .where(col(Message.case_id).in_(case_ids), Message.direction == Direction.INBOUND)
        .group_by(col(Message.case_id))
    )
    ids = [i for i in session.exec(latest).all() if i is not None]
    if not ids:
        return {}
    found: dict[int, Preview] = {}
    for message in session.exec(select(Message).where(col(Message.id).in_(ids))).all():
        if message.case_id is not None:
            found[message.case_id] = Preview(original=_clip(message.body) or "", translation=_clip(message.translation))
    return found


def list_cases(
    session: Session, user: StaffLike, filters: QueueFilters, now: datetime | None = None
) -> tuple[list[QueueRow], int]:
    """One page of the queue in `filters.sort` order (`queue_order`), with previews, and the total
    matching count. The page's ids are sorted first, narrow (no join, no wide columns), and only
    those rows are read in full: five queries, whatever the page size or depth."""
    moment = now or utcnow()
    base = filtered_cases(user, filters, moment)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    ids_page = (
        base.with_only_columns(col(Case.id))
        .order_by(*queue_order(filters.sort))
        .offset((filters.page - 1) * filters.per_page)
        .limit(filters.per_page)
    )
    ids = [i for i in session.exec(ids_page).all() if i is not None]
    assignee = aliased(StaffUser)
    statement = (
        select(Case, assignee.display_name)
        .outerjoin(assignee, col(assignee.id) == col(Case.assignee_id))
        .where(col(Case.id).in_(ids))
    )
    position = {case_id: n for n, case_id in enumerate(ids)}
    found = sorted(session.execute(statement).all(), key=lambda row: position[row[0].id]) if ids else []
    shown = previews(session, ids)
    rows = [
        QueueRow(
            case=c,
            assignee_name=name,
            overdue=is_overdue(c, moment),
            due_at=next_due(c),
            preview=shown.get(c.id) if c.id is not None else None,
        )
        for c, name in found
    ]
    return rows, int(total)


def clear_wrote_back(session: Session, case: Case, user_id: int | None) -> None:
    """The assignee opened the case: clear its "reporter wrote back" marker. A plain UPDATE, so the
    case's version (the other forms' stale-edit check) is left alone."""
    if case.reporter_wrote_back_at is None or user_id is None or case.assignee_id != user_id:
        return
    session.execute(
        update(Case).where(col(Case.id) == case.id).values(reporter_wrote_back_at=None),
        execution_options={"synchronize_session": False},
    )


def find_case(session: Session, reference: str) -> Case | None:
    """The case with `reference` (any case, spacing or dash), or None. Access is the caller's check."""
    normalized = normalize_reference(reference)
    if normalized is None:
        return None
    return session.exec(select(Case).where(Case.reference == normalized)).first()


@dataclass(frozen=True)
class CaseHistory:
    """A case's conversation, notes, audit events (views left out), mediation sessions and outcome."""

    messages: list[Message]
    notes: list[Note]
    events: list[CaseEvent]
    mediation_sessions: list[MediationSession]
    outcome: Outcome | None


# Reads of a case are audited but are not its history (the audit trail shows them).
READS = ("case_viewed", "attachment_viewed", "audit_viewed")


def case_history(session: Session, case: Case) -> CaseHistory:
    """Everything that happened on `case`, each list in the order it happened."""
    return CaseHistory(
        messages=list(
            session.exec(
                select(Message).where(Message.case_id == case.id).order_by(col(Message.created_at), col(Message.id))
            ).all()
        ),
        notes=list(
            session.exec(select(Note).where(Note.case_id == case.id).order_by(col(Note.created_at), col(Note.id))).all()
        ),
        events=list(
            session.exec(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id, col(CaseEvent.action).not_in(READS))
                .order_by(col(CaseEvent.created_at), col(CaseEvent.id))
            ).all()
        ),
        mediation_sessions=list(
            session.exec(
                select(MediationSession)
                .where(MediationSession.case_id == case.id)
                .order_by(col(MediationSession.scheduled_at), col(MediationSession.id))
            ).all()
        ),
        outcome=session.exec(select(Outcome).where(Outcome.case_id == case.id)).first(),
    )


def audit_trail(session: Session, case: Case) -> list[CaseEvent]:
    """Every audit event of `case`, views included, oldest first."""
    statement = (
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.created_at), col(CaseEvent.id))
    )
    return list(session.exec(statement).all())
