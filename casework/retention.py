"""Retention: erase the personal data of closed cases (contacts, names, message text and
translations, notes, mediation notes, media, employer and recruiter names), keeping the anonymized
compliance record and the audit trail. Never commits; imports neither Flask nor app code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.cases import OPEN_STATUSES
from casework.compliance.anonymize import anonymize
from casework.models import (
    Case,
    CaseStatus,
    ContactVerification,
    MediaAttachment,
    MediationSession,
    Message,
    Note,
    Reporter,
    TriageFinding,
    utcnow,
)

DeleteFile = Callable[[str], object]  # deletes one stored media file


class ErasureRefused(ValueError):
    """The erasure can't happen yet (e.g. the reporter still has an open case)."""


def erase_case(
    session: Session,
    case: Case,
    *,
    reason: str,
    delete_file: DeleteFile,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Erase one closed case's personal data after making sure its compliance record exists.

    Idempotent: an erased case is left as it is. Files are deleted by `delete_file` (given
    the stored path) before the rows forget where they were.
    """
    assert case.id is not None
    if case.erased_at is not None:
        return
    if case.status != CaseStatus.CLOSED:
        raise ErasureRefused(f"case {case.reference} is not closed")
    anonymize(session, case.id)  # the record must be written while the employer name is still known
    messages = session.exec(select(Message).where(Message.case_id == case.id)).all()
    message_ids = [m.id for m in messages]
    files = 0
    if message_ids:
        for media in session.exec(select(MediaAttachment).where(col(MediaAttachment.message_id).in_(message_ids))):
            if media.stored_path:
                delete_file(media.stored_path)
                files += 1
            media.url = None
            media.stored_path = None
            session.add(media)
    for message in messages:
        message.body = None
        message.translation = None
        session.add(message)
    notes = session.exec(select(Note).where(Note.case_id == case.id)).all()
    for note in notes:
        note.body = None
        session.add(note)
    for mediation in session.exec(select(MediationSession).where(MediationSession.case_id == case.id)):
        mediation.parties = None
        mediation.notes = None
        session.add(mediation)
    for finding in session.exec(select(TriageFinding).where(TriageFinding.case_id == case.id)):
        finding.phrase = None  # the reporter's words
        session.add(finding)
    for pending in session.exec(select(ContactVerification).where(ContactVerification.case_id == case.id)):
        pending.contact, pending.code_hash = None, None  # a number never proven is forgotten too
        session.add(pending)
    case.employer_name = None
    case.recruiter_name = None
    case.pin_hash = None  # nothing left to show the reporter; the reference stops opening anything
    case.erased_at = now or utcnow()
    session.add(case)
    record_event(
        session,
        action="personal_data_erased",
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff" if actor_id else "system",
        reason=reason,
        messages=len(messages),
        notes=len(notes),
        files=files,
    )
    _erase_reporter_if_done(session, case.reporter_id, now=case.erased_at)


def _erase_reporter_if_done(session: Session, reporter_id: int, *, now: datetime) -> None:
    """Forget the reporter's contact and name once none of their cases keeps personal data."""
    reporter = session.get(Reporter, reporter_id)
    if reporter is None or reporter.erased_at is not None:
        return
    session.flush()
    remaining = session.exec(
        select(Case.id).where(Case.reporter_id == reporter_id, col(Case.erased_at).is_(None))
    ).first()
    if remaining is not None:
        return
    # Messages not attached to a case (e.g. a STOP keyword) carry text too.
    for message in session.exec(
        select(Message).where(Message.reporter_id == reporter_id, col(Message.case_id).is_(None))
    ):
        message.body = None
        message.translation = None
        session.add(message)
    reporter.contact = None
    reporter.contact_hash = None
    reporter.name = None
    reporter.erased_at = now
    session.add(reporter)


def erase_expired(
    session: Session, *, retention_days: int, delete_file: DeleteFile, now: datetime | None = None, limit: int = 500
) -> dict[str, int]:
    """Erase cases closed more than `retention_days` ago (at most `limit` per call)."""
    moment = now or utcnow()
    cutoff = moment - timedelta(days=retention_days)
    cases = session.exec(
        select(Case)
        .where(
            Case.status == CaseStatus.CLOSED,
            col(Case.closed_at) < cutoff,
            col(Case.erased_at).is_(None),
        )
        .order_by(col(Case.closed_at))
        .limit(limit)
    ).all()
    for case in cases:
        erase_case(session, case, reason="retention", delete_file=delete_file, now=moment)
    return {"erased": len(cases)}


def erase_reporter(
    session: Session, case: Case, *, delete_file: DeleteFile, actor_id: int | None = None, now: datetime | None = None
) -> int:
    """Erase, on the reporter's request, every case of the reporter of `case`; returns how many.

    Raises ErasureRefused, changing nothing, while any of their cases is open: staff close
    it first (recording its outcome), so the anonymized record reflects what happened.
    """
    cases = session.exec(select(Case).where(Case.reporter_id == case.reporter_id)).all()
    still_open = [c.reference for c in cases if c.status in OPEN_STATUSES]
    if still_open:
        raise ErasureRefused(f"close these cases first: {', '.join(sorted(still_open))}")
    erased = 0
    for each in cases:
        if each.erased_at is None:
            erase_case(session, each, reason="reporter_request", delete_file=delete_file, actor_id=actor_id, now=now)
            erased += 1
    return erased
