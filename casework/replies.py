"""Staff replies to the reporter: the text sent (in the reporter's language) goes through the
outbox; the staff's original wording and the engine that translated it are kept beside it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from casework.audit import record_event
from casework.editing import CaseworkError, check_editable
from casework.models import Case, Message, Reporter, utcnow
from casework.outbox import queue_outbound
from casework.translation import TranslationResult

# One SMS can be up to 10 segments (Twilio concatenates up to 1600 characters).
MAX_REPLY_LENGTH = 1600


class InvalidReply(CaseworkError):
    """The reply is empty, too long, or has no text the reporter can read."""


def _meta(translation_meta: TranslationResult | Mapping[str, Any] | None) -> dict[str, Any]:
    if translation_meta is None:
        return {}
    if isinstance(translation_meta, TranslationResult):
        return {
            "engine": translation_meta.engine,
            "model_version": translation_meta.model_version,
            "pivot": translation_meta.pivot,
            "source": translation_meta.source,
        }
    return dict(translation_meta)


def queue_staff_reply(
    session: Session,
    case: Case,
    author_id: int,
    text: str,
    sent_text: str | None,
    translation_meta: TranslationResult | Mapping[str, Any] | None,
    *,
    working_language: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Message:
    """Queue a reply: `text` is the staff's working-language wording, `sent_text` what the
    reporter receives. `translation_meta` (a TranslationResult or a mapping with engine,
    model_version, pivot, source) records how `sent_text` was made; {"engine": "human"} for
    a human translation, None when no translation was needed.

    Raises InvalidReply, CaseClosed or StaleCase, changing nothing.
    """
    original = (text or "").strip()
    outgoing = (sent_text or "").strip()
    if not original:
        raise InvalidReply("the reply is empty")
    if not outgoing:
        raise InvalidReply(
            "there is no text in the reporter's language to send (no translation available; "
            "a human translation is needed)"
        )
    if len(outgoing) > MAX_REPLY_LENGTH or len(original) > MAX_REPLY_LENGTH:
        raise InvalidReply(f"the reply is longer than {MAX_REPLY_LENGTH} characters")
    check_editable(case, expected_version)
    reporter = session.get(Reporter, case.reporter_id)
    if reporter is None:
        raise InvalidReply("the case has no reporter")
    meta = _meta(translation_meta)
    message = queue_outbound(
        session,
        reporter=reporter,
        case=case,
        body=outgoing,
        kind="reply",
        language=case.language or reporter.language,
        author_id=author_id,
    )
    message.translation = original
    message.translation_language = meta.get("source") or working_language
    message.translation_engine = meta.get("engine")
    message.translation_model_version = meta.get("model_version")
    message.translation_pivot = meta.get("pivot")
    session.flush()
    moment = now or utcnow()
    first = case.first_response_at is None
    if first:
        case.first_response_at = moment
    case.updated_at = moment
    session.add(case)
    record_event(
        session,
        action="reply_queued",
        case_id=case.id,
        actor_id=author_id,
        actor_kind="staff",
        message_id=message.id,
        engine=message.translation_engine,
        first_response=first,
        delivery_status=str(message.delivery_status),
    )
    return message
