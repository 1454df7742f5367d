"""Twilio delivery-status callbacks: find our outbound message and record what Twilio says.

Takes the caller's session and does not commit. Error 21610 means the reporter opted out at
Twilio (see https://www.twilio.com/docs/api/errors/21610).
"""

from __future__ import annotations

from sqlmodel import Session, select

from casework.models import Direction, Message, Reporter
from casework.outbox import record_delivery_status, set_opt_out
from channels.twilio.errors import OPTED_OUT
from channels.twilio.payloads import StatusCallback


def apply_status(session: Session, message: Message, callback: StatusCallback) -> None:
    if message.provider_id is None:
        # Twilio accepted it but the send job never committed: adopt the SID so the message
        # is not sent a second time.
        message.provider_id = callback.message_sid
        session.add(message)
    if callback.status is not None:
        record_delivery_status(session, message, callback.status, error_code=callback.error_code)
    if callback.error_code == OPTED_OUT and message.reporter_id is not None:
        reporter = session.get(Reporter, message.reporter_id)
        if reporter is not None:
            set_opt_out(session, reporter, True, source="twilio_21610")


def find_outbound(session: Session, message_id: str, sid: str) -> Message | None:
    """Our outbound message for a callback: by the id we put in the URL, else by Twilio's SID."""
    if message_id.isascii() and message_id.isdigit() and len(message_id) < 19:  # int() refuses "²"
        statement = select(Message).where(Message.id == int(message_id)).with_for_update()
        message = session.exec(statement).first()
        if message is None or message.direction != Direction.OUTBOUND:
            return None
        if message.provider_id not in (None, sid):
            return None  # a callback for another message: the URL and SID disagree
        return message
    statement = select(Message).where(Message.provider_id == sid, Message.direction == Direction.OUTBOUND)
    return session.exec(statement.with_for_update()).first()
