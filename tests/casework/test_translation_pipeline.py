"""Inbound messages get a detected language and a stored translation, or an honest flag;
staff replies are previewed with a back-translation; corrections keep who made them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from app.jobs import intake_services
from casework.intake import InboundMessage, accept_inbound, process_inbound
from casework.models import Case, CaseEvent, Direction, Message, Reporter, StaffUser, utcnow
from casework.mt.apertium import installed_modes
from casework.replies import prepare_reply
from casework.translation import TranslationService, correct_translation

needs_apertium = pytest.mark.skipif(
    "spa-eng" not in installed_modes(), reason="Debian apertium-eng-spa not installed (make system-deps)"
)


def receive(session: Session, body: str, sid: str, sender: str = "+639171234567", hint: str | None = None) -> Message:
    message, _ = accept_inbound(
        session,
        InboundMessage(
            channel="sms", external_id=sid, sender=sender, body=body, received_at=utcnow(), language_hint=hint
        ),
    )
    session.commit()
    process_inbound(session, message.id, intake_services())
    session.commit()
    return message


@needs_apertium
def test_spanish_message_is_detected_translated_and_stored_with_engine(app: Any, session: Session) -> None:
    message = receive(session, "El jefe no me paga el sueldo de dos meses.", "SM" + "1" * 32)
    assert (message.language, message.needs_human_translation) == ("es", False)
    assert message.language_confidence is not None and message.language_confidence >= 0.7
    assert message.translation == "The boss does not pay me the wage of two months."
    assert message.translation_language == "en"
    assert message.translation_engine == "apertium"
    assert message.translation_model_version.startswith("apertium-eng-spa@")
    assert message.translation_pivot is None
    assert message.body == "El jefe no me paga el sueldo de dos meses."  # the original is always kept
    case = session.get(Case, message.case_id)
    assert (case.language, case.needs_human_translation) == ("es", False)
    assert session.get(Reporter, message.reporter_id).language == "es"
    actions = session.exec(select(CaseEvent.action).where(CaseEvent.case_id == case.id)).all()
    assert "message_translated" in actions


def test_uncovered_language_flags_message_and_case_for_a_human(app: Any, session: Session) -> None:
    message = receive(session, "hindi pa ako binabayaran ng amo ko 2 buwan na", "SM" + "2" * 32)
    assert message.language == "tl"
    assert message.needs_human_translation
    assert message.translation is None and message.translation_engine is None
    case = session.get(Case, message.case_id)
    assert case.needs_human_translation
    flagged = session.exec(select(Case.id).where(Case.needs_human_translation == True)).all()  # noqa: E712
    assert flagged == [case.id]


def test_unsupported_script_is_flagged_not_guessed(app: Any, session: Session) -> None:
    message = receive(session, "사장님이 월급을 안 줘요", "SM" + "3" * 32, hint="es")
    assert message.language is None
    assert message.needs_human_translation and message.translation is None
    assert session.get(Case, message.case_id).needs_human_translation


def test_working_language_message_is_kept_as_is(app: Any, session: Session) -> None:
    message = receive(session, "my boss didnt pay me 3 months pls help", "SM" + "4" * 32)
    assert (message.language, message.translation_engine, message.needs_human_translation) == ("en", "identity", False)
    assert message.translation == message.body


@pytest.mark.parametrize(
    "label, body, sid", [("emoji only", "🙏🙏", "a"), ("numbers only", "12345", "b"), ("empty", "", "c")]
)
def test_text_without_letters_needs_no_translation(app: Any, session: Session, label: str, body: str, sid: str) -> None:
    message = receive(session, body, "SM" + sid * 32)
    assert message.translation is None and not message.needs_human_translation, label
    assert message.language_confidence == 0.0
    assert not session.get(Case, message.case_id).needs_human_translation


def test_low_confidence_keeps_the_reporters_known_language(app: Any, session: Session) -> None:
    first = receive(session, "hindi pa ako binabayaran ng amo ko 2 buwan na", "SM" + "5" * 32)
    second = receive(session, "ok", "SM" + "6" * 32)
    assert first.language == "tl" and second.language == "tl"
    assert session.get(Reporter, second.reporter_id).language == "tl"


@needs_apertium
def test_reply_preview_translates_and_back_translates(app: Any) -> None:
    preview = prepare_reply(
        intake_services().translator, "My boss does not pay me.", working_language="en", reporter_language="es"
    )
    assert preview.translation.text == "Mi jefe no me paga."
    assert preview.translation.engine == "apertium"
    assert preview.back_translation.text == "My boss does not pay me."


def test_reply_preview_for_an_uncovered_language_says_so() -> None:
    preview = prepare_reply(
        TranslationService(), "We are looking into it.", working_language="en", reporter_language="tl"
    )
    assert preview.translation.needs_human and preview.back_translation.needs_human
    same = prepare_reply(None, "We are looking into it.", working_language="en", reporter_language=None)
    assert same.translation.text == "We are looking into it."


def test_correction_keeps_who_made_it_and_clears_the_case_flag(app: Any, session: Session) -> None:
    message = receive(session, "hindi pa ako binabayaran ng amo ko 2 buwan na", "SM" + "7" * 32)
    staff = StaffUser(email="ombuds@example.org", role="ombudsperson", password_hash="x")
    session.add(staff)
    session.commit()
    correct_translation(session, message, "  My employer has not paid me for 2 months  ", staff.id, language="en")
    session.commit()
    session.refresh(message)
    assert message.translation == "My employer has not paid me for 2 months"
    assert (message.translation_engine, message.translation_corrected_by_id) == ("human", staff.id)
    assert message.translation_corrected_at is not None and message.translation_language == "en"
    assert not message.needs_human_translation
    assert not session.get(Case, message.case_id).needs_human_translation
    event = session.exec(select(CaseEvent).where(CaseEvent.action == "translation_corrected")).one()
    assert event.actor_id == staff.id and "binabayaran" not in str(event.detail)
    with pytest.raises(ValueError, match="empty"):
        correct_translation(session, message, "   ", staff.id)
    outbound = session.exec(select(Message).where(Message.direction == Direction.OUTBOUND)).all()
    assert outbound  # processing still acknowledged the reporter
