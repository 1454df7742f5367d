"""Staff replies to the reporter, for the console and the API alike: `prepare_reply` decides what
would be sent (same language, machine translation with a back-translation, or a human
translation needed); `queue_staff_reply` sends it through the outbox, keeping the staff's
original wording and how the sent text was made beside it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from casework.audit import record_event
from casework.editing import CaseworkError, check_editable
from casework.models import Case, Message, Reporter, utcnow
from casework.outbox import queue_outbound
from casework.translation import TranslationResult, TranslationService

# One SMS can be up to 10 segments (Twilio concatenates up to 1600 characters).
MAX_REPLY_LENGTH = 1600


class InvalidReply(CaseworkError):
    """The reply is empty, too long, or has no text the reporter can read."""


@dataclass(frozen=True)
class ReplyDraft:
    """A reply before it is queued: the staff's wording, its translation into the reporter's
    language (identity when they share a language; `needs_human` when no engine covers the
    pair) and that translation turned back, for staff to check."""

    text: str
    working_language: str
    target_language: str
    translation: TranslationResult
    back_translation: TranslationResult | None

    @property
    def same_language(self) -> bool:
        return self.target_language == self.working_language

    @property
    def machine_available(self) -> bool:
        return not self.same_language and not self.translation.needs_human

    @property
    def sent_text(self) -> str | None:
        """What the reporter would receive; None when a human translation is needed."""
        return self.translation.text

    @property
    def back_text(self) -> str | None:
        return None if self.back_translation is None else self.back_translation.text

    @property
    def engine(self) -> str | None:
        return self.translation.engine

    @property
    def pivot(self) -> str | None:
        return self.translation.pivot


def prepare_reply(
    translator: TranslationService | None, text: str, *, working_language: str, reporter_language: str | None
) -> ReplyDraft:
    """Translate a draft reply into the reporter's language and back, changing nothing.

    Where no engine covers the pair, the draft says `needs_human`: staff then write in the
    reporter's language themselves or ask a translator; nothing is sent untranslated.
    """
    target = reporter_language or working_language
    if target == working_language:
        same = TranslationResult(text=text, source=working_language, target=target, engine="identity")
        return ReplyDraft(text, working_language, target, translation=same, back_translation=None)
    service = translator if translator is not None else TranslationService()
    forward = service.translate([text], working_language, target)[0]
    if forward.needs_human:
        back = TranslationResult(text=None, source=target, target=working_language)
    else:
        back = service.translate([forward.text or ""], target, working_language)[0]
    return ReplyDraft(text, working_language, target, translation=forward, back_translation=back)


def reply_provenance(draft: ReplyDraft, sent_text: str) -> TranslationResult | dict[str, Any] | None:
    """How `sent_text` was made: by the engine only if it is exactly the engine's translation
    (so no form field can claim an engine), else by a person; None in the same language."""
    if draft.same_language:
        return None
    if draft.machine_available and draft.translation.text == sent_text:
        return draft.translation
    return {"engine": "human", "source": draft.working_language}


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
