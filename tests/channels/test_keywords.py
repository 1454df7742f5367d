"""Keywords: matched whole-message, case- and accent-insensitively, in every supported language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from sqlmodel import Session, select

from casework.intake import InboundMessage, IntakeServices, accept_inbound, process_inbound
from casework.keywords import LEXICON_PATH, Command, match_keyword
from casework.models import Case, CaseEvent, ChannelKind, DeliveryStatus, Direction, Message, Reporter
from casework.outbox import OPT_OUT_CONFIRMATION
from casework.texts import SUPPORTED_LANGUAGES, render_text

SERVICES = IntakeServices(working_language="en")

MATCHES = [
    # label, text, command, target language (language switch only)
    ("English STOP", "STOP", Command.STOP, None),
    ("lower case with spaces and punctuation", "  stop! ", Command.STOP, None),
    ("Twilio synonym", "Unsubscribe", Command.STOP, None),
    ("Spanish", "PARAR", Command.STOP, None),
    ("French with accent", "Arrêt", Command.STOP, None),
    ("French without accent", "ARRET", Command.STOP, None),
    ("Vietnamese with tones", "Dừng", Command.STOP, None),
    ("Vietnamese typed without tones", "dung", Command.STOP, None),
    ("Chinese with full-width stop", "停止。", Command.STOP, None),
    ("Arabic", "توقف", Command.STOP, None),
    ("Russian", "СТОП", Command.STOP, None),
    ("Burmese", "ရပ်", Command.STOP, None),
    ("Amharic", "አቁም", Command.STOP, None),
    ("START", "start", Command.START, None),
    ("Twilio UNSTOP", "UNSTOP", Command.START, None),
    ("Portuguese começar", "Começar", Command.START, None),
    ("HELP", "Help?", Command.HELP, None),
    ("Tagalog tulong", "TULONG", Command.HELP, None),
    ("Hindi madad", "मदद", Command.HELP, None),
    ("Swahili msaada", "msaada", Command.HELP, None),
    ("STATUS", "Status", Command.STATUS, None),
    ("Spanish estado", "estado", Command.STATUS, None),
    ("Vietnamese trạng thái", "Trạng thái", Command.STATUS, None),
    ("Urdu", "حالت", Command.STATUS, None),
    ("LANG code", "LANG es", Command.LANGUAGE, "es"),
    ("LANG with emoji", "lang ne 🙏", Command.LANGUAGE, "ne"),
    ("Spanish command and endonym", "idioma Español", Command.LANGUAGE, "es"),
    ("French", "Langue FRANÇAIS", Command.LANGUAGE, "fr"),
    ("Indonesian two-word name", "bahasa indonesia", Command.LANGUAGE, "id"),
    ("Bengali script", "ভাষা বাংলা", Command.LANGUAGE, "bn"),
    ("Tagalog to Filipino", "wika filipino", Command.LANGUAGE, "tl"),
    ("unknown code", "lang xx", Command.LANGUAGE, None),
    ("command alone", "LANG", Command.LANGUAGE, None),
]


@pytest.mark.parametrize(("label", "text", "command", "target"), MATCHES, ids=[m[0] for m in MATCHES])
def test_keyword_is_recognised(label: str, text: str, command: Command, target: str | None) -> None:
    keyword = match_keyword(text)
    assert keyword is not None
    assert (keyword.command, keyword.target_language) == (command, target)


NOT_KEYWORDS = [
    ("a grievance starting with stop", "stop paying me is what they did"),
    ("a plea containing help", "help me please my boss took my passport"),
    ("a sentence starting with the language word", "bahasa saya tidak dimengerti oleh majikan saya di sini"),
    ("Hindi/Urdu acha (= OK)", "acha"),
    ("Twilio's YES (an answer, not a command)", "yes"),
    ("Tagalog tama na (= enough!)", "tama na"),
    ("empty", ""),
    ("only punctuation", "?!"),
    ("an ordinary word", "sahod"),
]


@pytest.mark.parametrize(("label", "text"), NOT_KEYWORDS, ids=[m[0] for m in NOT_KEYWORDS])
def test_ordinary_text_is_not_a_keyword(label: str, text: str) -> None:
    assert match_keyword(text) is None


def test_lexicon_covers_every_supported_language_for_every_command() -> None:
    data = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8"))
    for command, per_language in data["commands"].items():
        assert set(per_language) == set(SUPPORTED_LANGUAGES), command
        assert all(per_language.values()), command
    assert set(data["language_commands"]) == set(SUPPORTED_LANGUAGES)
    assert set(data["language_names"]) == set(SUPPORTED_LANGUAGES)


def deliver(
    session: Session, body: str, channel: str = "sms", sid_digit: str = "1", sender: str = "+639171234567"
) -> Message:
    message, _ = accept_inbound(
        session,
        InboundMessage(
            channel=channel, external_id="SM" + sid_digit * 32, sender=sender, body=body, received_at=datetime.now(UTC)
        ),
    )
    session.commit()
    processed = process_inbound(session, message.id, SERVICES)
    session.commit()
    assert processed is not None
    return processed


def outbound(session: Session) -> list[Message]:
    return list(session.exec(select(Message).where(Message.direction == Direction.OUTBOUND).order_by(Message.id)).all())


def test_keyword_opens_no_case_and_gets_no_acknowledgement(session: Session) -> None:
    message = deliver(session, "HELP")
    assert message.kind == "keyword"
    assert session.exec(select(Case)).all() == []
    replies = outbound(session)
    assert [(m.kind, m.body) for m in replies] == [("keyword_help", render_text("help", None))]
    assert session.exec(select(CaseEvent.action)).all() == ["keyword_received"]
    assert session.exec(select(Reporter)).one().language is None  # an English command word says nothing


def test_sms_stop_in_twilios_words_is_recorded_silently(session: Session) -> None:
    deliver(session, "STOP")
    reporter = session.exec(select(Reporter)).one()
    assert reporter.opted_out and reporter.opted_out_at is not None
    assert outbound(session) == []  # Twilio itself confirms its own opt-out words on SMS


@pytest.mark.parametrize(
    ("label", "channel", "body", "language"),
    [
        ("WhatsApp STOP", "whatsapp", "stop", None),
        ("SMS in Spanish", "sms", "DETENER", "es"),
    ],
    ids=["WhatsApp STOP", "SMS in Spanish"],
)
def test_stop_we_handle_ourselves_gets_one_confirmation_then_silence(
    session: Session, label: str, channel: str, body: str, language: str | None
) -> None:
    deliver(session, body, channel=channel)
    reporter = session.exec(select(Reporter)).one()
    assert reporter.opted_out
    assert reporter.language == language  # a word only one language uses tells us theirs
    [confirmation] = outbound(session)
    assert confirmation.kind == OPT_OUT_CONFIRMATION
    assert confirmation.channel == channel
    assert confirmation.delivery_status == DeliveryStatus.QUEUED
    # A later grievance still opens a case, but its acknowledgement is never sent.
    deliver(session, "my employer took my passport", channel=channel, sid_digit="2")
    ack = outbound(session)[-1]
    assert (ack.kind, ack.delivery_status) == ("ack", DeliveryStatus.SUPPRESSED)


def test_start_after_stop_turns_messages_back_on(session: Session) -> None:
    deliver(session, "STOP")
    deliver(session, "START", sid_digit="2")
    reporter = session.exec(select(Reporter)).one()
    assert not reporter.opted_out and reporter.opted_out_at is None
    [started] = outbound(session)
    assert (started.kind, started.delivery_status) == ("keyword_start", DeliveryStatus.QUEUED)
    assert session.exec(
        select(CaseEvent.action).where(CaseEvent.action.like("reporter_opted%")).order_by(CaseEvent.id)
    ).all() == ["reporter_opted_out", "reporter_opted_in"]


def test_status_reports_the_current_state_of_their_case(session: Session) -> None:
    deliver(session, "Hindi pa binabayaran ang sahod ko")
    case = session.exec(select(Case)).one()
    status = deliver(session, "status", sid_digit="2")
    reply = outbound(session)[-1]
    assert reply.kind == "keyword_status"
    assert reply.body == render_text("status", None, reference=case.reference, status="new")
    assert case.reference in reply.body and "received" in reply.body
    assert status.case_id == case.id  # kept in the case history for staff
    assert len(session.exec(select(Case)).all()) == 1


def test_status_without_a_case_says_so(session: Session) -> None:
    deliver(session, "STATUS")
    assert outbound(session)[-1].body == render_text("status_none", None)


def test_language_switch_changes_the_reply_language(session: Session) -> None:
    deliver(session, "LANG es")
    reporter = session.exec(select(Reporter)).one()
    assert reporter.language == "es"
    assert outbound(session)[-1].body == render_text("language_switched", "es")
    deliver(session, "me quitaron el pasaporte", sid_digit="2")
    case = session.exec(select(Case)).one()
    assert case.language == "es"
    assert outbound(session)[-1].language == "es"


def test_unknown_language_code_explains_the_command(session: Session) -> None:
    deliver(session, "LANG xx")
    assert session.exec(select(Reporter)).one().language is None
    assert outbound(session)[-1].body == render_text("language_unknown", None)


def test_keyword_with_media_is_a_normal_message(session: Session) -> None:
    from casework.intake import InboundMedia

    message, _ = accept_inbound(
        session,
        InboundMessage(
            channel=ChannelKind.WHATSAPP.value,
            external_id="MM" + "3" * 32,
            sender="+251911234567",
            body="help",
            received_at=datetime.now(UTC),
            media=(InboundMedia(url="https://api.twilio.com/x", content_type="image/jpeg"),),
        ),
    )
    session.commit()
    process_inbound(session, message.id, SERVICES)
    session.commit()
    assert message.kind == "message"
    assert session.exec(select(Case)).one().id == message.case_id
