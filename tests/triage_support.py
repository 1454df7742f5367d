"""Cases triaged the way the pipeline does it (real lexicon, real audit events), for the tests of
why triage decided and of its accuracy in live use."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from casework.models import Case, ChannelKind, Direction, Message
from casework.triage import apply_triage, load_lexicon, override_triage
from tests.factories import make_case

LEXICON = load_lexicon()


def inbound(
    session: Session, case: Case, body: str, *, translation: str | None = None, language: str | None = None
) -> Message:
    message = Message(
        case_id=case.id,
        reporter_id=case.reporter_id,
        direction=Direction.INBOUND,
        channel=ChannelKind.SMS,
        body=body,
        language=language,
        translation=translation,
        translation_language="en" if translation else None,
        translation_engine="argos" if translation else None,
    )
    session.add(message)
    session.flush()
    return message


def triaged_case(
    session: Session,
    body: str,
    *,
    language: str | None = "en",
    translation: str | None = None,
    corrected_by: int | None = None,
    **correction: Any,
) -> Case:
    """A case opened and triaged from one message; with `corrected_by`, then corrected by that staff id."""
    case = make_case(session, language=language or "en")
    if language is None:
        case.language = None
    apply_triage(session, case, inbound(session, case, body, translation=translation, language=language), LEXICON)
    if corrected_by is not None:
        override_triage(session, case, corrected_by, **correction)
    return case
