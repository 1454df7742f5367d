"""Retention: personal data of long-closed cases is erased; the compliance record and audit stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from casework import cases
from casework.compliance.anonymize import anonymize, employer_pseudonym, source_key
from casework.models import (
    Case,
    CaseEvent,
    CaseStatus,
    ComplianceRecord,
    MediaAttachment,
    Message,
    Note,
    Reporter,
)
from casework.retention import ErasureRefused, erase_expired, erase_reporter
from tests.closed_cases import close_case

NOW = datetime(2026, 6, 1, tzinfo=UTC)


class FileBin:
    """Records which stored media files retention asked to delete."""

    def __init__(self) -> None:
        self.deleted: list[str] = []

    def __call__(self, stored_path: str) -> None:
        self.deleted.append(stored_path)


def with_media(session: Session, case: Case) -> None:
    message = session.exec(select(Message).where(Message.case_id == case.id)).first()
    session.add(
        MediaAttachment(
            message_id=message.id,
            url="https://api.twilio.com/media/ME1",
            content_type="image/jpeg",
            stored_path="ab/payslip.jpg",
        )
    )
    session.commit()


def test_expired_case_loses_personal_data_but_keeps_its_record(session: Session) -> None:
    old = close_case(session, closed_at=NOW - timedelta(days=400))
    old.recruiter_name = "Blue Harbor Manpower"  # as triage stores a named recruiter
    session.add(old)
    with_media(session, old)
    recent = close_case(session, closed_at=NOW - timedelta(days=30))
    files = FileBin()
    assert erase_expired(session, retention_days=365, delete_file=files, now=NOW) == {"erased": 1}
    session.commit()
    session.expire_all()
    assert files.deleted == ["ab/payslip.jpg"]
    erased = session.get(Case, old.id)
    assert erased.erased_at == NOW and erased.employer_name is None and erased.pin_hash is None
    assert erased.recruiter_name is None
    assert erased.category == "wage_theft"  # codes needed for statistics stay
    for message in session.exec(select(Message).where(Message.case_id == old.id)):
        assert message.body is None and message.translation is None
    assert all(n.body is None for n in session.exec(select(Note).where(Note.case_id == old.id)))
    media = session.exec(select(MediaAttachment)).one()
    assert media.url is None and media.stored_path is None
    reporter = session.get(Reporter, old.reporter_id)
    assert reporter.contact is None and reporter.contact_hash is None and reporter.name is None
    record = session.exec(select(ComplianceRecord).where(ComplianceRecord.source_key == source_key(old.id))).one()
    assert record.employer_pseudonym == employer_pseudonym("Acme Plantations Sdn Bhd")
    anonymize(session, old.id)  # again, after the name is gone: the pseudonym stays
    assert record.employer_pseudonym == employer_pseudonym("Acme Plantations Sdn Bhd")
    event = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == old.id, CaseEvent.action == "personal_data_erased")
    ).one()
    assert event.detail["reason"] == "retention" and event.detail["files"] == 1
    kept = session.get(Case, recent.id)
    assert kept.erased_at is None and kept.employer_name is not None
    assert session.exec(select(Message).where(Message.case_id == recent.id)).first().body is not None
    # Idempotent: a second pass finds nothing more to do.
    assert erase_expired(session, retention_days=365, delete_file=files, now=NOW) == {"erased": 0}


def test_reporter_keeps_contact_while_another_case_holds_data(session: Session) -> None:
    first = close_case(session, closed_at=NOW - timedelta(days=400))
    reporter = session.get(Reporter, first.reporter_id)
    close_case(session, closed_at=NOW - timedelta(days=10), reporter=reporter)
    erase_expired(session, retention_days=365, delete_file=FileBin(), now=NOW)
    session.commit()
    assert session.get(Reporter, reporter.id).contact == "+60123456789"


def test_erasure_on_request_refuses_while_a_case_is_open(session: Session) -> None:
    first = close_case(session, closed_at=NOW - timedelta(days=10))
    reporter = session.get(Reporter, first.reporter_id)
    still_open = cases.open_case(session, reporter=reporter, channel="sms", language="ne")
    session.commit()
    with pytest.raises(ErasureRefused, match=still_open.reference):
        erase_reporter(session, first, delete_file=FileBin(), now=NOW)
    session.rollback()
    assert session.get(Case, first.id).erased_at is None
    cases.transition(session, still_open, CaseStatus.CLOSED, now=NOW)
    assert erase_reporter(session, first, delete_file=FileBin(), now=NOW) == 2
    session.commit()
    assert session.get(Reporter, reporter.id).contact is None
    events = session.exec(select(CaseEvent).where(CaseEvent.action == "personal_data_erased")).all()
    assert {e.detail["reason"] for e in events} == {"reporter_request"} and len(events) == 2
    # Both cases have their compliance record (the open one was anonymized when erased).
    assert len(session.exec(select(ComplianceRecord)).all()) == 2


def test_media_deletion_stays_inside_the_media_folder(app, tmp_path: Path) -> None:
    from app.media import delete_media, media_root

    media = media_root() / "12"
    media.mkdir(parents=True)
    (media / "34.bin").write_bytes(b"jpeg")
    assert delete_media("12/34.bin") is True
    assert not (media / "34.bin").exists()
    assert delete_media("12/34.bin") is False  # already gone: fine, and said so
    outside = tmp_path / "keep.txt"
    outside.write_text("x")
    with pytest.raises(ValueError, match="outside"):
        delete_media("../../keep.txt")
    with pytest.raises(ValueError, match="outside"):
        delete_media(str(outside))
    assert outside.exists()
