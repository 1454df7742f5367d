"""The outbox: every message to a reporter is first a `Message` row (direction outbound,
status queued) written in the caller's transaction; the app enqueues its send job after
commit, and the sweeper re-enqueues any row left queued. Delivery statuses land here too."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.models import Case, ChannelKind, DeliveryStatus, Direction, Message, Reporter, utcnow

# Twilio's status words, in the order a message moves through them; a late callback for an
# earlier state must not overwrite a later one. https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks
STATUS_ORDER = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.ACCEPTED: 2,
    DeliveryStatus.SENT: 3,
    DeliveryStatus.DELIVERED: 4,
    DeliveryStatus.READ: 5,
    DeliveryStatus.UNDELIVERED: 4,
    DeliveryStatus.FAILED: 4,
    DeliveryStatus.SUPPRESSED: 6,
    DeliveryStatus.HELD: 0,
}

# Twilio refuses bodies over 1600 characters (error 21617); longer texts go as numbered parts.
MAX_BODY_CHARS = 1600
# WhatsApp allows free-form messages only within 24 hours of the person's last message;
# outside it only an approved template may be sent.
# https://www.twilio.com/docs/whatsapp/key-concepts#the-24-hour-window-or-24-hour-session
WHATSAPP_WINDOW = timedelta(hours=24)
TEMPLATE_KIND = "whatsapp_template"

# The single confirmation sent after STOP: it is queued before the opt-out is recorded and is
# the only kind of message an opted-out reporter can still receive.
OPT_OUT_CONFIRMATION = "keyword_stop"
# A code sent to a number typed into the web form, to prove it (`casework/verification.py`): the
# only message that goes to a number no reporter has proven yet.
VERIFICATION_CODE_KIND = "contact_code"


def may_send(reporter: Reporter, message: Message) -> bool:
    """Whether `message` may go to `reporter` now (checked again at send time, after any STOP)."""
    if reporter.contact is None or reporter.erased_at is not None:
        return False
    return not reporter.opted_out or message.kind == OPT_OUT_CONFIRMATION


def split_body(body: str, limit: int = MAX_BODY_CHARS) -> list[str]:
    """`body` as one part, or as numbered parts "(1/3) …" of at most `limit` characters, cut at
    whitespace where possible (parts are separate sends and may arrive out of order)."""
    if len(body) <= limit:
        return [body]
    room = limit - len("(999/999) ")
    parts: list[str] = []
    rest = body
    while rest:
        if len(rest) <= room:
            parts.append(rest)
            break
        cut = rest.rfind(" ", room // 2, room + 1)
        cut = cut if cut > 0 else room
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [f"({i}/{len(parts)}) {part}" for i, part in enumerate(parts, 1)]


def queue_outbound(
    session: Session,
    *,
    reporter: Reporter,
    case: Case | None,
    body: str,
    kind: str,
    channel: ChannelKind | str | None = None,
    language: str | None = None,
    author_id: int | None = None,
) -> Message:
    """Write an outbound message row; it is `suppressed` (never sent) when the reporter opted
    out or can't be reached (anonymous web report, or erased contact).

    A body over MAX_BODY_CHARS becomes several numbered rows (one send each); the first is returned.
    """
    target_channel = ChannelKind(channel or (case.channel if case else ChannelKind.SMS))
    if target_channel is ChannelKind.WEB and reporter.contact_channel:
        # A web reporter who left a number, with consent, is answered there too (and on /status).
        target_channel = ChannelKind(reporter.contact_channel)
    proven = reporter.contact is not None or kind == VERIFICATION_CODE_KIND
    reachable = proven and target_channel is not ChannelKind.WEB
    status = DeliveryStatus.QUEUED if reachable and not reporter.opted_out else DeliveryStatus.SUPPRESSED
    parts = [body] if target_channel is ChannelKind.WEB else split_body(body)
    messages = [
        Message(
            case_id=case.id if case else None,
            reporter_id=reporter.id,
            direction=Direction.OUTBOUND,
            channel=target_channel,
            kind=kind,
            body=part,
            language=language or reporter.language,
            delivery_status=status,
            author_id=author_id,
        )
        for part in parts
    ]
    session.add_all(messages)
    return messages[0]


def in_whatsapp_window(reporter: Reporter, now: datetime | None = None) -> bool:
    last = reporter.last_inbound_at
    return last is not None and (now or utcnow()) - last < WHATSAPP_WINDOW


def hold_for_window(
    session: Session, message: Message, reporter: Reporter, *, template_available: bool
) -> Message | None:
    """Hold a WhatsApp `message` until the reporter writes again, and queue one template nudge.

    At most one template goes out per silence: none is queued if one was already queued since
    the reporter's last message. Returns the template row when one is queued.
    """
    message.delivery_status = DeliveryStatus.HELD
    session.add(message)
    if not template_available:
        return None
    earlier = select(Message.id).where(Message.reporter_id == reporter.id, Message.kind == TEMPLATE_KIND)
    if reporter.last_inbound_at is not None:
        earlier = earlier.where(col(Message.created_at) > reporter.last_inbound_at)
    if session.exec(earlier).first() is not None:
        return None
    template = Message(
        case_id=message.case_id,
        reporter_id=reporter.id,
        direction=Direction.OUTBOUND,
        channel=ChannelKind.WHATSAPP,
        kind=TEMPLATE_KIND,
        body=None,
        language=message.language,
        delivery_status=DeliveryStatus.QUEUED,
    )
    session.add(template)
    return template


def release_held(session: Session, reporter_id: int) -> list[int]:
    """Queue again the WhatsApp messages held for `reporter_id` (they just wrote); returns their ids."""
    held = session.exec(
        select(Message)
        .where(
            Message.reporter_id == reporter_id,
            Message.direction == Direction.OUTBOUND,
            Message.delivery_status == DeliveryStatus.HELD,
        )
        .order_by(col(Message.id))
    ).all()
    for message in held:
        message.delivery_status = DeliveryStatus.QUEUED
        session.add(message)
    return [m.id for m in held if m.id is not None]


def record_delivery_status(
    session: Session,
    message: Message,
    status: DeliveryStatus,
    error_code: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Apply a provider status if it moves the message forward; returns whether it changed."""
    current = DeliveryStatus(message.delivery_status) if message.delivery_status else DeliveryStatus.QUEUED
    if STATUS_ORDER[status] < STATUS_ORDER[current] or status == current:
        return False
    message.delivery_status = status
    message.delivery_error_code = error_code
    if status is DeliveryStatus.DELIVERED or status is DeliveryStatus.READ:
        message.delivered_at = at or utcnow()
    session.add(message)
    return True


def set_opt_out(
    session: Session, reporter: Reporter, opted_out: bool, *, source: str, at: datetime | None = None
) -> bool:
    """Record that `reporter` opted out (STOP, or Twilio error 21610) or back in (START).

    Returns whether anything changed. Sends are suppressed for opted-out reporters both when
    queued and again at send time, so a message queued before the STOP never goes out.
    """
    if reporter.opted_out == opted_out:
        return False
    reporter.opted_out = opted_out
    reporter.opted_out_at = (at or utcnow()) if opted_out else None
    session.add(reporter)
    record_event(session, action="reporter_opted_out" if opted_out else "reporter_opted_in", source=source)
    return True


def unsent_message_ids(session: Session, *, queued_before: datetime, limit: int = 5000) -> list[int]:
    """Outbound messages queued before `queued_before` and not handed to the provider (the sweeper's).

    A message left SENDING without a provider id is one whose send's outcome was lost.
    """
    statement = (
        select(Message.id)
        .where(
            Message.direction == Direction.OUTBOUND,
            col(Message.created_at) < queued_before,
            or_(
                col(Message.delivery_status) == DeliveryStatus.QUEUED,
                and_(col(Message.delivery_status) == DeliveryStatus.SENDING, col(Message.provider_id).is_(None)),
            ),
        )
        .limit(limit)
    )
    return [i for i in session.exec(statement).all() if i is not None]
