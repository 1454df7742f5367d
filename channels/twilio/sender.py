"""Twilio REST sending: the only code that talks to Twilio's API.

`TWILIO_API_BASE_URL` replaces Twilio's host, so tests and staging point it at a local server.
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    sms_from: str
    whatsapp_from: str
    api_base_url: str
    status_callback: str | None


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    status: str
    segments: int | None


class PermanentSendError(Exception):
    """Twilio refused the message for good (bad number, opted out): don't retry."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# Error codes that no retry can fix. https://www.twilio.com/docs/api/errors
PERMANENT_ERROR_CODES = frozenset({
    21211,  # invalid 'To' phone number
    21408,  # permission to send to this region not enabled
    21610,  # recipient replied STOP (unsubscribed)
    21612,  # 'To' number not reachable via this channel
    21614,  # 'To' number is not a valid mobile number
    63016,  # WhatsApp: outside the 24-hour window, free-form not allowed
})


def make_client(settings: TwilioSettings) -> Client:
    client = Client(settings.account_sid, settings.auth_token)
    client.api.base_url = settings.api_base_url.rstrip("/")
    return client


def send_message(settings: TwilioSettings, *, to: str, body: str, whatsapp: bool = False,
                 content_sid: str | None = None, content_variables: str | None = None) -> SendResult:
    """Send one message. Raises PermanentSendError for refusals; other errors are transient."""
    client = make_client(settings)
    params: dict[str, str] = {"to": f"whatsapp:{to}" if whatsapp else to}
    sender = settings.whatsapp_from if whatsapp else settings.sms_from
    if sender.startswith("MG"):
        params["messaging_service_sid"] = sender
    else:
        params["from_"] = sender
    if content_sid:
        params["content_sid"] = content_sid
        if content_variables:
            params["content_variables"] = content_variables
    else:
        params["body"] = body
    if settings.status_callback:
        params["status_callback"] = settings.status_callback
    try:
        created = client.messages.create(**params)
    except TwilioRestException as exc:
        if exc.code in PERMANENT_ERROR_CODES or exc.status in (400, 404):
            raise PermanentSendError(str(exc.code), f"Twilio refused the message (error {exc.code})") from None
        raise
    segments = int(created.num_segments) if created.num_segments not in (None, "") else None
    return SendResult(provider_id=str(created.sid), status=str(created.status), segments=segments)
