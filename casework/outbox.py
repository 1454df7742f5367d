"""The outbox: every message to a reporter is first a `Message` row (direction outbound,
status queued) written in the caller's transaction; the app enqueues its send job after
commit, and the sweeper re-enqueues any row left queued. Delivery statuses land here too."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from casework.models import Case, ChannelKind, DeliveryStatus, Direction, Message, Reporter, utcnow

# Twilio's status words, in the order a message moves through them; a late callback for an
# earlier state must not overwrite a later one. https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks
STATUS_ORDER = {
    DeliveryStatus.QUEUED: 0, DeliveryStatus.SENDING: 1, DeliveryStatus.ACCEPTED: 2, DeliveryStatus.SENT: 3,
    DeliveryStatus.DELIVERED: 4, DeliveryStatus.READ: 5, DeliveryStatus.UNDELIVERED: 4, DeliveryStatus.FAILED: 4,
    DeliveryStatus.SUPPRESSED: 6,
}


def queue_outbound(session: Session, *, reporter: Reporter, case: Case | None, body: str, kind: str,
                   channel: ChannelKind | str | None = None, language: str | None = None,
                   author_id: int | None = None) -> Message:
    """Write an outbound message row; it is `suppressed` (never sent) when the reporter opted
    out or can't be reached (anonymous web report, or erased contact)."""
    target_channel = ChannelKind(channel or (case.channel if case else ChannelKind.SMS))
    if target_channel is ChannelKind.WEB and reporter.contact_channel:
        # A web reporter who left a number, with consent, is answered there too (and on /status).
        target_channel = ChannelKind(reporter.contact_channel)
    reachable = reporter.contact is not None and target_channel is not ChannelKind.WEB
    status = DeliveryStatus.QUEUED if reachable and not reporter.opted_out else DeliveryStatus.SUPPRESSED
    message = Message(
        case_id=case.id if case else None, reporter_id=reporter.id, direction=Direction.OUTBOUND,
        channel=target_channel, kind=kind, body=body, language=language or reporter.language,
        delivery_status=status, author_id=author_id,
    )
    session.add(message)
    return message


def record_delivery_status(session: Session, message: Message, status: DeliveryStatus,
                           error_code: str | None = None, at: datetime | None = None) -> bool:
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
