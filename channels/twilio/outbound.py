"""Sending one outbound message through Twilio, once, in three steps.

The call to Twilio can't join our transaction, so: (1) `claim_send` marks the message SENDING
in one transaction; (2) `deliver` calls Twilio outside any transaction; (3) `record_send` stores
the result in another. If the worker dies or the database loses step 3, the retry finds the
claim and `deliver` first asks Twilio whether it already holds the message (`find_sent`)
instead of sending it twice. Each step takes the caller's session and does not commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from casework.models import Case, ChannelKind, DeliveryStatus, Message, Reporter, utcnow
from casework.outbox import (
    TEMPLATE_KIND,
    hold_for_window,
    in_whatsapp_window,
    record_delivery_status,
    set_opt_out,
)
from casework.verification import destination
from channels.twilio.errors import OPTED_OUT, OUTSIDE_WHATSAPP_WINDOW
from channels.twilio.segments import count_segments, prefer_gsm7
from channels.twilio.sender import PermanentSendError, TwilioSettings, find_sent, send_message

log = logging.getLogger(__name__)
# More SMS segments than this for one message is worth a warning: each costs money and
# concatenated parts can arrive out of order on some networks.
SEGMENT_WARNING = 4


@dataclass(frozen=True)
class SendClaim:
    """What step 1 claimed: everything step 2 needs, so it touches no database row."""

    message_id: int
    to: str
    body: str | None
    whatsapp: bool
    content_sid: str | None
    content_variables: dict[str, str] | None
    first_attempt_at: datetime | None  # set when an earlier attempt's outcome is unknown
    known_sids: frozenset[str]  # this reporter's recorded SIDs: none of them is this message


@dataclass(frozen=True)
class Delivery:
    provider_id: str | None
    refusal: PermanentSendError | None = None


def claim_send(session: Session, message_id: int, *, account_sid: str, template_sid: str | None) -> SendClaim | str:
    """Step 1: lock the message and mark it SENDING; or say why nothing is to be sent.

    Returns a SendClaim, or the outcome "skipped" (not queued), "suppressed" (no contact or
    not allowed to send), "held" (WhatsApp outside its 24-hour window) or "failed" (a template
    is due but none is configured). Raises RuntimeError without Twilio credentials: the message
    stays queued for when they are set.
    """
    message = session.get(Message, message_id, with_for_update=True)
    unknown_outcome = (
        message is not None and message.delivery_status == DeliveryStatus.SENDING and message.provider_id is None
    )
    if message is None or (message.delivery_status != DeliveryStatus.QUEUED and not unknown_outcome):
        return "skipped"
    reporter = session.get(Reporter, message.reporter_id)
    to = destination(session, reporter, message) if reporter is not None else None
    if reporter is None or to is None:
        message.delivery_status = DeliveryStatus.SUPPRESSED
        return "suppressed"
    if not account_sid:
        raise RuntimeError("TWILIO_ACCOUNT_SID is not configured; the message stays queued")
    whatsapp = message.channel == ChannelKind.WHATSAPP
    if whatsapp and message.kind != TEMPLATE_KIND and not in_whatsapp_window(reporter):
        template = hold_for_window(session, message, reporter, template_available=bool(template_sid))
        log.info(
            "whatsapp message held until the reporter writes",
            extra={"message_id": message_id, "template_queued": template is not None},
        )
        return "held"
    content_variables = None
    if message.kind == TEMPLATE_KIND:
        if not template_sid:
            message.delivery_status = DeliveryStatus.FAILED
            message.delivery_error_code = "no_template"
            return "failed"
        case = session.get(Case, message.case_id) if message.case_id else None
        content_variables = {"1": case.reference if case else ""}
    elif not whatsapp and message.body:
        message.body = prefer_gsm7(message.body)
    if message.body:
        count = count_segments(message.body)
        message.segments = count.segments
        if not whatsapp and count.segments >= SEGMENT_WARNING:
            log.warning(
                "long SMS", extra={"message_id": message_id, "segments": count.segments, "encoding": count.encoding}
            )
    # While SENDING, sent_at is when the first attempt began; once accepted, when it was.
    earlier = message.sent_at if unknown_outcome else None
    message.send_attempts += 1
    message.delivery_status = DeliveryStatus.SENDING
    message.sent_at = earlier or utcnow()
    known: set[str] = set()
    if earlier is not None:
        statement = select(Message.provider_id).where(
            Message.reporter_id == reporter.id, col(Message.provider_id).is_not(None)
        )
        known = {sid for sid in session.exec(statement).all() if sid is not None}
    return SendClaim(
        message_id=message_id,
        to=to,
        body=message.body,
        whatsapp=whatsapp,
        content_sid=template_sid if message.kind == TEMPLATE_KIND else None,
        content_variables=content_variables,
        first_attempt_at=earlier,
        known_sids=frozenset(known),
    )


def deliver(settings: TwilioSettings, claim: SendClaim) -> Delivery:
    """Step 2: hand the message to Twilio, unless an earlier attempt already did.

    A permanent refusal is returned; a transient error (5xx, timeout) raises so RQ retries.
    """
    if claim.first_attempt_at is not None and claim.body:
        # Twilio's clock and ours differ: look a minute before the first attempt.
        found = find_sent(
            settings,
            to=claim.to,
            body=claim.body,
            whatsapp=claim.whatsapp,
            since=claim.first_attempt_at - timedelta(minutes=1),
            known=set(claim.known_sids),
        )
        if found is not None:
            log.info("earlier send found at Twilio; not sending again", extra={"message_id": claim.message_id})
            return Delivery(provider_id=found)
    try:
        result = send_message(
            settings,
            to=claim.to,
            body=claim.body,
            whatsapp=claim.whatsapp,
            content_sid=claim.content_sid,
            content_variables=claim.content_variables,
        )
    except PermanentSendError as exc:
        return Delivery(provider_id=None, refusal=exc)
    return Delivery(provider_id=result.provider_id)


def record_send(session: Session, claim: SendClaim, delivery: Delivery, *, template_sid: str | None) -> str:
    """Step 3: store what Twilio said: "sent", "held" (outside the WhatsApp window) or "failed".

    Error 21610 also opts the reporter out.
    """
    message = session.get_one(Message, claim.message_id, with_for_update=True)
    refusal = delivery.refusal
    if refusal is not None:
        reporter = session.get_one(Reporter, message.reporter_id)
        if refusal.code == OUTSIDE_WHATSAPP_WINDOW and claim.whatsapp and message.kind != TEMPLATE_KIND:
            hold_for_window(session, message, reporter, template_available=bool(template_sid))
            return "held"
        message.delivery_status = DeliveryStatus.FAILED
        message.delivery_error_code = refusal.code
        if refusal.code == OPTED_OUT:
            set_opt_out(session, reporter, True, source="twilio_21610")
        log.info("outbound refused permanently", extra={"message_id": claim.message_id, "code": refusal.code})
        return "failed"
    message.provider_id = delivery.provider_id
    message.sent_at = utcnow()
    record_delivery_status(session, message, DeliveryStatus.ACCEPTED)
    return "sent"


def status_callback_url(public_base_url: str, message_id: int | None = None) -> str:
    """Where Twilio reports delivery; our id in the (signed) URL finds the row even when the
    callback races the send job's commit."""
    callback = public_base_url.rstrip("/") + "/channels/twilio/status"
    return f"{callback}?m={message_id}" if message_id is not None else callback
