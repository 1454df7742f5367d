"""Case references, PINs, legal transitions and the append-only audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from app.db import new_session
from casework import cases
from casework.models import Case, CaseEvent, CaseStatus, Reporter


def make_case(session: Session) -> Case:
    reporter = Reporter()
    session.add(reporter)
    session.flush()
    case = cases.open_case(session, reporter=reporter, channel="web", language="es", pin="123456")
    session.commit()
    return case


def test_reference_is_short_and_unambiguous() -> None:
    ref = cases.new_reference()
    assert len(ref) == 9 and ref[4] == "-"
    assert not set(ref) & set("ILOU")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("k7m2-9qxd", "K7M2-9QXD"),
        ("K7M2 9QXD", "K7M2-9QXD"),
        ("KOM2-9QXD", "K0M2-9QXD"),
        ("K7M2-9QX", None),
        ("K7M2-9QX!", None),
        ("", None),
    ],
)
def test_normalize_reference(typed: str, expected: str | None) -> None:
    assert cases.normalize_reference(typed) == expected


def test_pin_is_hashed(session: Session) -> None:
    case = make_case(session)
    assert "123456" not in (case.pin_hash or "")
    assert cases.pin_matches(case.pin_hash, "123456")
    assert not cases.pin_matches(case.pin_hash, "654321")


def test_illegal_transition_changes_nothing(session: Session) -> None:
    case = make_case(session)
    with pytest.raises(cases.IllegalTransition):
        cases.transition(session, case, CaseStatus.IN_MEDIATION)
    assert case.status == CaseStatus.NEW


def test_close_and_reopen(session: Session) -> None:
    case = make_case(session)
    for status in (CaseStatus.ASSIGNED, CaseStatus.RESOLVED, CaseStatus.CLOSED):
        cases.transition(session, case, status)
    session.commit()
    assert case.closed_at is not None
    cases.transition(session, case, CaseStatus.INVESTIGATING, reason="new evidence")
    session.commit()
    assert case.closed_at is None and case.status == CaseStatus.INVESTIGATING


def test_stale_edit_is_refused(app, session: Session) -> None:
    case = make_case(session)
    with new_session(expire_on_commit=True) as other:
        theirs = other.get(Case, case.id)
        theirs.urgency = "high"
        other.commit()
    case.urgency = "low"
    with pytest.raises(StaleDataError):
        session.commit()


def test_audit_log_is_append_only_in_the_database(session: Session) -> None:
    case = make_case(session)
    event_id = session.exec(select(CaseEvent.id).where(CaseEvent.case_id == case.id)).first()
    for statement in ("UPDATE case_event SET action = 'x' WHERE id = :id", "DELETE FROM case_event WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement), {"id": event_id})
        session.rollback()
