"""Internal staff notes on a case (encrypted at rest, never shown to the reporter)."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from casework.audit import record_event
from casework.editing import CaseworkError, check_editable
from casework.models import Case, Note

MAX_NOTE_LENGTH = 10_000


class InvalidNote(CaseworkError):
    """The note is empty or too long."""


def add_note(session: Session, case: Case, author_id: int, body: str, *, expected_version: int | None = None) -> Note:
    """Add an internal note by `author_id`; raises InvalidNote, CaseClosed or StaleCase.

    A note does not bump the case's version: notes only add, so they cannot overwrite anyone.
    """
    text = (body or "").strip()
    if not text:
        raise InvalidNote("the note is empty")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidNote(f"the note is longer than {MAX_NOTE_LENGTH} characters")
    check_editable(case, expected_version)
    assert case.id is not None
    note = Note(case_id=case.id, author_id=author_id, body=text)
    session.add(note)
    session.flush()
    record_event(session, action="note_added", case_id=case.id, actor_id=author_id, actor_kind="staff", note_id=note.id)
    return note


REASON_CODE = re.compile(r"^[a-z0-9_]{1,48}$")


def reason_detail(session: Session, case: Case, author_id: int | None, reason: str | None) -> dict[str, Any]:
    """Audit detail for a reason: a short code is kept as is; free text (which may name people)
    goes into an encrypted internal note and the audit event keeps only the note's id."""
    text = (reason or "").strip()
    if not text:
        return {}
    if REASON_CODE.match(text):
        return {"reason": text}
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidNote(f"the reason is longer than {MAX_NOTE_LENGTH} characters")
    if author_id is None or case.id is None:
        raise InvalidNote("a free-text reason needs a staff author; system steps use short codes")
    note = Note(case_id=case.id, author_id=author_id, body=text)
    session.add(note)
    session.flush()
    return {"reason_note_id": note.id}
