"""Intake: make an inbound message durable (idempotently), then process it into a case.

`accept_inbound` runs in the webhook's transaction and does the minimum: reporter + message.
`process_inbound` runs in a job and does the rest. Neither commits; the caller does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.cases import open_or_attach
from casework.keywords import Keyword, handle_keyword, match_keyword
from casework.models import (
    Case,
    ChannelKind,
    Direction,
    MediaAttachment,
    Message,
    ProcessingState,
    Reporter,
    utcnow,
)
from casework.outbox import queue_outbound
from casework.privacy import lookup_hash
from casework.texts import normalize_language, render_text
from casework.translation import TranslationService

FIRST_RESPONSE_DAYS = 2
# (session, message, case) -> None: one step of the intake pipeline (`casework/pipeline.py`)
IntakeStep = Callable[[Session, Message, Case], None]


@dataclass(frozen=True)
class InboundMedia:
    url: str
    content_type: str


@dataclass(frozen=True)
class InboundMessage:
    """One message from a reporter, normalized by whichever channel received it.

    `external_id` is the provider's id (Twilio MessageSid; None for the web form).
    `sender` is an E.164 number, or None for an anonymous web report.
    """

    channel: str
    external_id: str | None
    sender: str | None
    body: str
    received_at: datetime
    media: tuple[InboundMedia, ...] = ()
    language_hint: str | None = None  # chosen by the reporter (web form, LANG keyword)


def contact_key(sender: str) -> str:
    return lookup_hash("phone", sender)


def find_reporter(session: Session, sender: str) -> Reporter | None:
    return session.exec(select(Reporter).where(Reporter.contact_hash == contact_key(sender))).first()


def get_or_create_reporter(session: Session, sender: str | None, language: str | None = None) -> Reporter:
    """The reporter for `sender` (an E.164 number), created if new; a fresh anonymous one if None."""
    if sender is None:
        reporter = Reporter(language=language)
        session.add(reporter)
        session.flush()
        return reporter
    existing = find_reporter(session, sender)
    if existing is not None:
        return existing
    reporter = Reporter(contact=sender, contact_hash=contact_key(sender), language=language)
    try:
        with session.begin_nested():
            session.add(reporter)
            session.flush()
    except IntegrityError:  # the same number arrived concurrently: use the row that won
        winner = find_reporter(session, sender)
        assert winner is not None
        return winner
    return reporter


def find_inbound(session: Session, channel: str, external_id: str) -> Message | None:
    statement = select(Message).where(Message.channel == channel, Message.provider_id == external_id)
    return session.exec(statement).first()


def store_inbound(
    session: Session, inbound: InboundMessage, *, reporter_id: int | None, case_id: int | None = None
) -> Message:
    """Store `inbound` as a received message for the intake job (flushed: it has its id)."""
    message = Message(
        case_id=case_id,
        reporter_id=reporter_id,
        direction=Direction.INBOUND,
        channel=ChannelKind(inbound.channel),
        provider_id=inbound.external_id,
        body=inbound.body,
        created_at=inbound.received_at,
        processing_state=ProcessingState.RECEIVED,
        language=inbound.language_hint,
    )
    session.add(message)
    session.flush()
    return message


def accept_inbound(session: Session, inbound: InboundMessage) -> tuple[Message, bool]:
    """Store `inbound` once. Returns (message, created); a replayed provider id creates nothing.

    Relies on the unique (channel, provider_id) constraint, so concurrent duplicates are safe.
    """
    if inbound.external_id:
        existing = find_inbound(session, inbound.channel, inbound.external_id)
        if existing is not None:
            return existing, False
    try:
        with session.begin_nested():
            reporter = get_or_create_reporter(session, inbound.sender, inbound.language_hint)
            reporter.last_inbound_at = inbound.received_at
            message = store_inbound(session, inbound, reporter_id=reporter.id)
            assert message.id is not None
            for item in inbound.media:
                session.add(MediaAttachment(message_id=message.id, url=item.url, content_type=item.content_type))
            session.flush()
    except IntegrityError:
        if not inbound.external_id:
            raise
        duplicate = find_inbound(session, inbound.channel, inbound.external_id)
        if duplicate is None:
            raise
        return duplicate, False
    return message, True


@dataclass(frozen=True)
class IntakeServices:
    """What processing needs from outside the domain, passed in by the job wiring.

    Each step is optional so the pipeline runs with whatever is deployed; a missing
    translator means every non-working-language message is flagged for a human translator.
    """

    working_language: str
    translator: TranslationService | None = None
    steps: tuple[IntakeStep, ...] = ()  # language detection, triage, routing… in order


def lock_message(session: Session, message_id: int) -> Message | None:
    statement = select(Message).where(Message.id == message_id).with_for_update()
    return session.exec(statement).first()


def keyword_in(session: Session, message: Message) -> Keyword | None:
    """The keyword an SMS/WhatsApp message is, if it is one; a message with media never is."""
    if message.channel == ChannelKind.WEB or message.case_id is not None or not message.body:
        return None
    keyword = match_keyword(message.body)
    if keyword is None:
        return None
    has_media = session.exec(select(MediaAttachment.id).where(MediaAttachment.message_id == message.id)).first()
    return None if has_media is not None else keyword


def _wrote_before(session: Session, case: Case, message: Message) -> bool:
    """Whether the reporter had already written on `case` before `message` (so it is a follow-up;
    a web report is stored on its case already, and is the first)."""
    statement = select(Message.id).where(
        Message.case_id == case.id, Message.direction == Direction.INBOUND, Message.id != message.id
    )
    return session.exec(statement.limit(1)).first() is not None


def process_inbound(session: Session, message_id: int, services: IntakeServices) -> Message | None:
    """Attach the message to the reporter's open case (or open one) and acknowledge it.

    Idempotent: a message already processed is returned untouched. The row is locked
    (FOR UPDATE on PostgreSQL) so two workers can't process it at once.
    """
    message = lock_message(session, message_id)
    if message is None or message.processing_state == ProcessingState.PROCESSED:
        return message
    reporter = session.get(Reporter, message.reporter_id)
    assert reporter is not None
    if message.language and not reporter.language:
        reporter.language = normalize_language(message.language)
    keyword = keyword_in(session, message)
    if keyword is not None:
        handle_keyword(session, message, reporter, keyword)
        message.processing_state = ProcessingState.PROCESSED
        message.processed_at = utcnow()
        session.add(message)
        return message
    if message.case_id is not None:  # stored already attached (web follow-up by reference + PIN)
        case, opened = session.get_one(Case, message.case_id), False
    else:
        case, opened = open_or_attach(session, reporter=reporter, channel=message.channel, language=reporter.language)
        message.case_id = case.id
    if not opened and _wrote_before(session, case, message):
        case.reporter_wrote_back_at = message.created_at or utcnow()  # the queue's "reporter wrote back"
        session.add(case)
    for step in services.steps:
        step(session, message, case)
    key = "ack" if opened else "ack_followup"
    if opened or message.channel != ChannelKind.WEB:
        queue_outbound(
            session,
            reporter=reporter,
            case=case,
            kind=key,
            body=render_text(key, reporter.language, reference=case.reference, days=FIRST_RESPONSE_DAYS),
        )
    message.processing_state = ProcessingState.PROCESSED
    message.processed_at = utcnow()
    session.add(message)
    record_event(
        session,
        action="message_received",
        case_id=case.id,
        actor_kind="reporter",
        message_id=message.id,
        channel=str(message.channel),
    )
    return message


SWEEP_BATCH = 5000


def unprocessed_message_ids(session: Session, *, stored_before: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Inbound messages stored before `stored_before` and still waiting to be processed (the sweeper's)."""
    statement = (
        select(Message.id)
        .where(
            Message.direction == Direction.INBOUND,
            Message.processing_state == ProcessingState.RECEIVED,
            col(Message.created_at) < stored_before,
        )
        .limit(limit)
    )
    return [i for i in session.exec(statement).all() if i is not None]


def media_to_fetch(session: Session, message_id: int) -> list[int]:
    """The message's attachments whose file has not been fetched yet."""
    statement = select(MediaAttachment.id).where(
        MediaAttachment.message_id == message_id, col(MediaAttachment.fetched_at).is_(None)
    )
    return [i for i in session.exec(statement).all() if i is not None]


def unfetched_media_ids(
    session: Session, *, stored_before: datetime, stored_after: datetime, limit: int = SWEEP_BATCH
) -> list[int]:
    """Attachments stored in (`stored_after`, `stored_before`) with a URL but no file yet."""
    statement = (
        select(MediaAttachment.id)
        .where(
            col(MediaAttachment.fetched_at).is_(None),
            col(MediaAttachment.url).is_not(None),
            col(MediaAttachment.created_at) < stored_before,
            col(MediaAttachment.created_at) > stored_after,
        )
        .limit(limit)
    )
    return [i for i in session.exec(statement).all() if i is not None]
