"""Anonymization: one generalized `ComplianceRecord` per closed case; no identifiers, no free text.

Employers are published as keyed pseudonyms unless an admin disclosed one (`disclose_employer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from casework.compliance.schema import (
    AMOUNT_BANDS,
    CASE_AGE_BANDS,
    FIRST_RESPONSE_BANDS,
    LANGUAGE_GROUPS,
    REMEDIED_OUTCOMES,
    REMEDY_BANDS,
)
from casework.models import Case, CaseStatus, ComplianceRecord, EmployerDisclosure, Outcome, utcnow
from casework.privacy import employer_key, lookup_hash


def source_key(case_id: int) -> str:
    """Keyed hash of a case id: finds a case's record again without a link anyone can follow."""
    return lookup_hash("compliance-case", str(case_id))


def employer_pseudonym(name: str) -> str:
    """A keyed, stable pseudonym for an employer or recruiter name (case and spacing ignored)."""
    return pseudonym_of_key(employer_key(name))


def pseudonym_of_key(key: str) -> str:
    """The published pseudonym of an employer key (`Case.employer_pseudonym`, a full keyed hash)."""
    return "E" + key[:15].upper()


def band(value: Any, bands: Sequence[tuple[Any, str]]) -> str | None:
    if value is None:
        return None
    for upper, label in bands:
        if upper is None or value < upper:
            return label
    raise AssertionError("bands must end open")


def _code_or_other(value: str | None) -> str | None:
    """A sector code as is; anything typed freely (spaces, names) becomes "other", never published."""
    if not value:
        return None
    code = value.strip().lower()
    return code if len(code) <= 32 and code.replace("_", "").isalnum() and code.isascii() else "other"


def _days(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).days


def anonymize(session: Session, case_id: int) -> ComplianceRecord | None:
    """Create or refresh the compliance record of a closed case; None if it isn't closed.

    Idempotent: the record is found again by `source_key`, so running twice changes nothing.
    """
    case = session.get(Case, case_id)
    if case is None or case.status != "closed" or case.closed_at is None:
        return None
    assert case.id is not None
    outcome = session.exec(select(Outcome).where(Outcome.case_id == case.id)).first()
    key = source_key(case.id)
    record = session.exec(select(ComplianceRecord).where(ComplianceRecord.source_key == key)).first()
    if record is None:
        record = ComplianceRecord(source_key=key, opened_month="", closed_month="", category="", urgency="", channel="")
    # From the name while it exists, else the case's keyed hash; after retention erased the name,
    # the pseudonym already recorded stays.
    pseudonym = (
        employer_pseudonym(case.employer_name)
        if case.employer_name
        else pseudonym_of_key(case.employer_pseudonym)
        if case.employer_pseudonym
        else record.employer_pseudonym
    )
    remedied = outcome is not None and outcome.resolution_type in REMEDIED_OUTCOMES
    remedied_at = (case.resolved_at or case.closed_at) if remedied else None
    record.opened_month = case.created_at.strftime("%Y-%m")
    record.closed_month = case.closed_at.strftime("%Y-%m")
    record.category = str(case.category or "other")
    record.urgency = str(case.urgency)
    record.route = None if case.route is None else str(case.route)
    record.channel = str(case.channel)
    record.language_group = LANGUAGE_GROUPS.get(case.language or "", None if case.language is None else "other")
    record.country = case.country.upper() if case.country else None
    record.sector = _code_or_other(case.sector)
    record.resolution_type = outcome.resolution_type if outcome else None
    record.remedies = sorted(set(outcome.remedies)) if outcome else []
    amount = outcome.amount_recovered if outcome else None
    record.amount_band = band(amount, AMOUNT_BANDS) if amount else None
    record.currency = outcome.currency.upper() if outcome and amount and outcome.currency else None
    record.days_to_first_response_band = band(_days(case.created_at, case.first_response_at), FIRST_RESPONSE_BANDS)
    record.days_to_remedy_band = band(_days(case.created_at, remedied_at), REMEDY_BANDS)
    record.case_age_band = band(_days(case.created_at, case.closed_at), CASE_AGE_BANDS)
    record.inspection_requested = bool(outcome and outcome.inspection_requested)
    record.sanction_reported = bool(outcome and outcome.sanction_reported)
    record.employer_pseudonym = pseudonym
    session.add(record)
    # A plain UPDATE: bookkeeping, not an edit, so it must not bump the case's version and
    # make a staff member's concurrent edit fail as stale.
    session.execute(
        sa_update(Case)
        .where(col(Case.id) == case.id)
        .values(compliance_recorded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return record


def disclose_employer(session: Session, *, name: str, reason: str, approved_by_id: int) -> EmployerDisclosure:
    """Mark an employer publishable by name (still only where >= k records share its row)."""
    pseudonym = employer_pseudonym(name)
    disclosure = session.exec(
        select(EmployerDisclosure).where(EmployerDisclosure.employer_pseudonym == pseudonym)
    ).first()
    if disclosure is None:
        disclosure = EmployerDisclosure(
            employer_pseudonym=pseudonym, public_name=name.strip(), reason=reason, approved_by_id=approved_by_id
        )
    disclosure.public_name, disclosure.reason, disclosure.approved_by_id = name.strip(), reason, approved_by_id
    session.add(disclosure)
    return disclosure


def unrecorded_closures(session: Session, *, closed_before: datetime, limit: int = 5000) -> list[Case]:
    """Closed cases whose compliance record is missing or older than their closure (the sweeper's)."""
    statement = (
        select(Case)
        .where(
            Case.status == CaseStatus.CLOSED,
            col(Case.closed_at) < closed_before,
            (col(Case.compliance_recorded_at).is_(None)) | (col(Case.compliance_recorded_at) < col(Case.closed_at)),
        )
        .limit(limit)
    )
    return list(session.exec(statement).all())
