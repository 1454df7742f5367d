"""Twilio's webhook forms → the normalized shapes `casework` understands.

Provider quirks stay here: `whatsapp:` prefixes, `NumMedia`/`MediaUrlN` pairs, Twilio's
status words. Anything malformed raises `PayloadError` carrying the 4xx to answer with.
Parameter reference: https://www.twilio.com/docs/messaging/guides/webhook-request
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlparse

from werkzeug.datastructures import MultiDict

from casework.intake import InboundMedia, InboundMessage
from casework.models import ChannelKind, DeliveryStatus
from casework.privacy import InvalidPhoneNumber, normalize_phone

# Message SIDs: two letters (SM, MM) and 32 hex digits. https://www.twilio.com/docs/glossary/what-is-a-sid
MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-f]{32}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")
CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
ERROR_CODE = re.compile(r"^\d{1,6}$")
# Twilio splits inbound SMS over 1600 characters into several webhooks; a WhatsApp message
# is at most 4096. Anything longer is not from Twilio.
MAX_BODY_CHARS = 4096
MAX_MEDIA = 10  # Twilio's limit per message
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

# Twilio's MessageStatus words → ours. `canceled`/`scheduled` concern scheduled sends, which we
# don't use; `partially_delivered` (multi-recipient) is treated as delivered to this one person.
# https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
TWILIO_STATUSES: dict[str, DeliveryStatus | None] = {
    "accepted": DeliveryStatus.ACCEPTED,
    "scheduled": None,
    "canceled": DeliveryStatus.FAILED,
    "queued": DeliveryStatus.ACCEPTED,  # queued at Twilio is past our own `queued`
    "sending": DeliveryStatus.SENDING,
    "sent": DeliveryStatus.SENT,
    "failed": DeliveryStatus.FAILED,
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "receiving": None,
    "received": None,
    "read": DeliveryStatus.READ,
    "partially_delivered": DeliveryStatus.DELIVERED,
}


class PayloadError(Exception):
    """The request is not a well-formed Twilio webhook; `status` is the 4xx to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class StatusCallback:
    """One delivery-status callback for an outbound message."""

    message_sid: str
    status: DeliveryStatus | None  # None: a status word that moves nothing for us
    error_code: str | None


def decode_form(raw: bytes, content_type: str | None) -> MultiDict[str, str]:
    """Parse a urlencoded body strictly: UTF-8 only, no silent replacement characters.

    werkzeug's own parser replaces undecodable bytes with U+FFFD; for a grievance that would
    store a corrupted text as if it were what the reporter wrote, so we refuse instead.
    """
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    if mimetype != FORM_CONTENT_TYPE:
        raise PayloadError(415, f"expected {FORM_CONTENT_TYPE}, got {mimetype or 'no content type'}")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise PayloadError(400, "the form is not valid UTF-8") from None
    except ValueError:
        raise PayloadError(400, "the form is malformed") from None
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise PayloadError(400, "the form contains NUL characters")
    return MultiDict(pairs)


def _one(form: MultiDict[str, str], name: str, required: bool = True) -> str | None:
    values = form.getlist(name)
    if len(values) > 1:
        raise PayloadError(400, f"{name} is given more than once")
    if not values or (required and not values[0].strip()):
        if required:
            raise PayloadError(400, f"{name} is required")
        return None
    return values[0]


def _address(field: str, raw: str, whatsapp: bool) -> str:
    if whatsapp != raw.startswith("whatsapp:"):
        expected = "a whatsapp:+… address" if whatsapp else "a phone number, not a whatsapp: address"
        raise PayloadError(400, f"{field} must be {expected}")
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber:
        raise PayloadError(400, f"{field} is not a valid phone number") from None


def _media(form: MultiDict[str, str]) -> tuple[InboundMedia, ...]:
    raw_count = _one(form, "NumMedia", required=False) or "0"
    if not (raw_count.isascii() and raw_count.isdigit()) or int(raw_count) > MAX_MEDIA:  # int() refuses "²"
        raise PayloadError(400, f"NumMedia must be a whole number from 0 to {MAX_MEDIA}")
    items = []
    for index in range(int(raw_count)):
        url = _one(form, f"MediaUrl{index}") or ""
        content_type = (_one(form, f"MediaContentType{index}") or "").strip().lower()
        parsed = urlparse(url)
        if parsed.scheme != "https" or not parsed.netloc or len(url) > 2048:
            raise PayloadError(400, f"MediaUrl{index} must be an https URL")
        if not CONTENT_TYPE.match(content_type):
            raise PayloadError(400, f"MediaContentType{index} is not a content type")
        items.append(InboundMedia(url=url, content_type=content_type))
    return tuple(items)


def parse_inbound(form: MultiDict[str, str], channel: ChannelKind, received_at: datetime) -> InboundMessage:
    """Build the normalized inbound message from a Messaging webhook form.

    WhatsApp's ProfileName is deliberately not kept: a reporter's display name adds nothing
    to the case and would identify them if the data ever leaked (data minimisation).
    """
    whatsapp = channel is ChannelKind.WHATSAPP
    sid = _one(form, "MessageSid") or ""
    if not MESSAGE_SID.match(sid):
        raise PayloadError(400, "MessageSid is not a Twilio message SID")
    account = _one(form, "AccountSid", required=False)
    if account is not None and not ACCOUNT_SID.match(account):
        raise PayloadError(400, "AccountSid is not a Twilio account SID")
    sender = _address("From", _one(form, "From") or "", whatsapp)
    _address("To", _one(form, "To") or "", whatsapp)  # must be well-formed; which of our numbers is irrelevant
    wa_id = _one(form, "WaId", required=False)
    if whatsapp and wa_id is not None and "+" + wa_id != sender:
        raise PayloadError(400, "WaId does not match From")
    media = _media(form)
    body = _one(form, "Body", required=False)
    if body is None:
        raise PayloadError(400, "Body is required (it may be empty)")
    if len(body) > MAX_BODY_CHARS:
        raise PayloadError(413, f"Body is longer than {MAX_BODY_CHARS} characters")
    return InboundMessage(
        channel=channel.value, external_id=sid, sender=sender, body=body, received_at=received_at, media=media
    )


def parse_status(form: MultiDict[str, str]) -> StatusCallback:
    """Read a delivery-status callback (MessageSid, MessageStatus, ErrorCode)."""
    sid = _one(form, "MessageSid", required=False) or _one(form, "SmsSid", required=False) or ""
    if not MESSAGE_SID.match(sid):
        raise PayloadError(400, "MessageSid is not a Twilio message SID")
    word = _one(form, "MessageStatus", required=False) or _one(form, "SmsStatus", required=False) or ""
    word = word.strip().lower()
    if word not in TWILIO_STATUSES:
        raise PayloadError(400, "MessageStatus is not a Twilio message status")
    error_code = _one(form, "ErrorCode", required=False)
    if error_code is not None and not ERROR_CODE.match(error_code):
        raise PayloadError(400, "ErrorCode must be a number")
    return StatusCallback(message_sid=sid, status=TWILIO_STATUSES[word], error_code=error_code)
