"""What staff work from, for the console and the API alike: the queue (validated filters, one
indexed, paginated query, no N+1), a case found by its reference, and a case's history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from casework.access import StaffLike, restrict_to_visible
from casework.cases import OPEN_STATUSES, REFERENCE_ALPHABET, normalize_reference
from casework.editing import CaseworkError
from casework.models import (
    Case,
    CaseEvent,
    CaseStatus,
    MediationSession,
    Message,
    Note,
    Outcome,
    Route,
    StaffUser,
    Urgency,
    utcnow,
)

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n", ""}
# Statuses whose resolution clock is still running.
UNRESOLVED_STATUSES = tuple(s for s in OPEN_STATUSES if s is not CaseStatus.RESOLVED)


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


@dataclass(frozen=True)
class QueueFilters:
    """What the queue shows. `assignee_id` 0 means unassigned; `q` is a (partial) case reference."""

    route: Route | None = None
    status: CaseStatus | None = None
    urgency: Urgency | None = None
    language: str | None = None
    overdue: bool | None = None
    needs_human_translation: bool | None = None
    assignee_id: int | None = None
    q: str | None = None
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
            elif name == "language":
                code = raw.strip().lower()
                if not (2 <= len(code) <= 8 and code.replace("-", "").isalpha()):
                    raise InvalidFilter(f"language must be a language code such as es or tl; got {raw!r}")
                values[name] = code
            elif name in ("overdue", "needs_human_translation"):
                values[name] = _bool(name, raw)
            elif name == "assignee_id":
                values[name] = 0 if raw.strip().lower() in ("none", "unassigned") else _int(name, raw, 0, MAX_ID)
            elif name == "q":
                values[name] = _reference_prefix(raw)
            elif name == "page":
                values[name] = _int(name, raw, 1, 100_000)
            elif name == "per_page":
                values[name] = _int(name, raw, 1, MAX_PER_PAGE)
        return cls(**values)


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue: the case, its assignee's display name, and whether it is overdue."""

    case: Case
    assignee_name: str | None
    overdue: bool


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


def filtered_cases(user: StaffLike, filters: QueueFilters, now: datetime | None = None) -> Any:
    """The select over Case for `filters`, restricted to what `user` may see (no ordering)."""
    moment = now or utcnow()
    statement = restrict_to_visible(select(Case), user)
    if filters.route is not None:
        statement = statement.where(Case.route == filters.route)
    if filters.status is not None:
        statement = statement.where(Case.status == filters.status)
    if filters.urgency is not None:
        statement = statement.where(Case.urgency == filters.urgency)
    if filters.language is not None:
        statement = statement.where(Case.language == filters.language)
    if filters.needs_human_translation is not None:
        statement = statement.where(Case.needs_human_translation == filters.needs_human_translation)
    if filters.assignee_id == 0:
        statement = statement.where(col(Case.assignee_id).is_(None))
    elif filters.assignee_id is not None:
        statement = statement.where(Case.assignee_id == filters.assignee_id)
    if filters.overdue is True:
        statement = statement.where(overdue_condition(moment))
    elif filters.overdue is False:
        statement = statement.where(~overdue_condition(moment))
    if filters.q:
        statement = statement.where(col(Case.reference).startswith(filters.q, autoescape=True))
    return statement


def list_cases(
    session: Session, user: StaffLike, filters: QueueFilters, now: datetime | None = None
) -> tuple[list[QueueRow], int]:
    """One page of the queue, cases waiting for a person's triage first, then newest first, and
    the total matching count (two queries)."""
    moment = now or utcnow()
    base = filtered_cases(user, filters, moment)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    assignee = aliased(StaffUser)
    page = (
        base.add_columns(assignee.display_name)
        .outerjoin(assignee, assignee.id == Case.assignee_id)
        .order_by(col(Case.needs_human_triage).desc(), col(Case.created_at).desc(), col(Case.id).desc())
        .offset((filters.page - 1) * filters.per_page)
        .limit(filters.per_page)
    )
    rows = [
        QueueRow(case=case, assignee_name=name, overdue=is_overdue(case, moment))
        for case, name in session.execute(page).all()
    ]
    return rows, int(total)


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
                .where(CaseEvent.case_id == case.id, CaseEvent.action != "case_viewed")
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
