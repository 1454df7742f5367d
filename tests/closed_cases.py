"""Build closed cases for compliance tests through the domain functions (open_case, transition)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from casework import cases
from casework.models import CaseStatus, Message, Note, Outcome, Reporter, StaffUser


def staff_id(session: Session) -> int:
    user = session.exec(select(StaffUser).where(StaffUser.email == "ombuds@test.example")).first()
    if user is None:
        user = StaffUser(email="ombuds@test.example", role="ombudsperson", password_hash="x")
        session.add(user)
        session.flush()
    assert user.id is not None
    return user.id


def close_case(
    session: Session,
    *,
    closed_at: datetime = datetime(2025, 3, 10, tzinfo=UTC),
    age_days: int = 40,
    category: str = "wage_theft",
    country: str | None = "MY",
    sector: str | None = "construction",
    channel: str = "sms",
    language: str | None = "ne",
    resolution: str | None = "remedied",
    remedies: tuple[str, ...] = ("wages_paid",),
    amount: str | None = "450.00",
    currency: str | None = "MYR",
    inspection: bool = False,
    sanction: bool = False,
    employer: str | None = "Acme Plantations Sdn Bhd",
    reporter: Reporter | None = None,
    first_response_days: int | None = 1,
    contact: str | None = "+60123456789",
    body: str = "my boss has not paid me for 3 months",
    **_: Any,
) -> Any:
    """Open, work and close one case; returns it (committed)."""
    if reporter is None:
        reporter = Reporter(contact=contact, name="Ram Bahadur", language=language)
        session.add(reporter)
        session.flush()
    created = closed_at - timedelta(days=age_days)
    case = cases.open_case(session, reporter=reporter, channel=channel, language=language)
    case.created_at = created
    case.category, case.country, case.sector = category, country, sector
    case.employer_name = employer
    if first_response_days is not None:
        case.first_response_at = created + timedelta(days=first_response_days)
    session.add(
        Message(
            case_id=case.id,
            reporter_id=reporter.id,
            direction="inbound",
            channel=channel,
            body=body,
            translation=body,
            language=language,
        )
    )
    session.add(Note(case_id=case.id, author_id=staff_id(session), body="called the employer"))
    if resolution is not None:
        session.add(
            Outcome(
                case_id=case.id,
                resolution_type=resolution,
                remedies=list(remedies),
                amount_recovered=Decimal(amount) if amount else None,
                currency=currency,
                inspection_requested=inspection,
                sanction_reported=sanction,
            )
        )
    cases.transition(session, case, CaseStatus.ASSIGNED, now=created + timedelta(days=1))
    cases.transition(session, case, CaseStatus.RESOLVED, now=closed_at - timedelta(days=1))
    cases.transition(session, case, CaseStatus.CLOSED, now=closed_at)
    session.commit()
    return case
