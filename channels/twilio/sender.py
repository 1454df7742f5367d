"""Twilio REST: sending messages and fetching inbound media. The only code that calls Twilio's API.

`TWILIO_API_BASE_URL` replaces Twilio's host, so tests and staging point it at a local server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlparse

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from channels.twilio.errors import PERMANENT_ERROR_CODES

TWILIO_API_HOST = "api.twilio.com"
REQUEST_TIMEOUT_SECONDS = 15
MAX_MEDIA_BYTES = 25 * 1024 * 1024  # above WhatsApp's 16 MB media limit; anything bigger is refused
T = TypeVar("T")


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


class PermanentSendError(Exception):
    """Twilio refused the message for good (bad number, opted out…): don't retry."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class TwilioRequestFailed(Exception):
    """A call to Twilio's API failed, and not as a refusal of this message: network, timeout, an
    HTTP error (5xx, 429, bad credentials). Raised for RQ to retry the job.

    Its message names only the kind of failure. The errors it replaces quote the request (requests'
    the whole URL with its query string, a look-up's `To=whatsapp%3A%2B…`; Twilio's sometimes the
    number itself), and a traceback of them would carry it into logs and RQ's job records.
    """


def _is_refusal(exc: TwilioRestException) -> bool:
    return exc.code in PERMANENT_ERROR_CODES or (exc.status in (400, 404) and exc.code is not None)


def _call_twilio(call: Callable[[], T], *, refusals: bool = False) -> T:
    """`call()`; its failures raised as TwilioRequestFailed, without the URL, the number or the
    original error chained; with `refusals`, Twilio's refusal of a message as PermanentSendError."""
    try:
        return call()
    except requests.RequestException as exc:
        failure = f"Twilio API unreachable ({type(exc).__name__})"
    except TwilioRestException as exc:
        if refusals and _is_refusal(exc):
            raise PermanentSendError(str(exc.code), f"Twilio refused the message (error {exc.code})") from None
        failure = f"Twilio API answered HTTP {exc.status} (error {exc.code})"
    raise TwilioRequestFailed(failure)  # outside the except blocks: the original is not its __context__


class MediaRefused(Exception):
    """The media URL is not Twilio's, or the file is too big or gone: fetching again won't help."""


def make_client(settings: TwilioSettings) -> Client:
    client = Client(
        settings.account_sid, settings.auth_token, http_client=TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS)
    )
    client.api.base_url = settings.api_base_url.rstrip("/")
    return client


def send_message(
    settings: TwilioSettings,
    *,
    to: str,
    body: str | None,
    whatsapp: bool = False,
    content_sid: str | None = None,
    content_variables: dict[str, str] | None = None,
) -> SendResult:
    """Send one message (free-form `body`, or the approved template `content_sid`).

    Raises PermanentSendError for refusals no retry can fix; TwilioRequestFailed for any other
    failure (Twilio 5xx or 429, network), so the job is retried.
    """
    params: dict[str, str] = {"to": f"whatsapp:{to}" if whatsapp else to}
    sender = settings.whatsapp_from if whatsapp else settings.sms_from
    if sender.startswith("MG"):
        params["messaging_service_sid"] = sender
    else:
        params["from_"] = sender
    if content_sid:
        params["content_sid"] = content_sid
        if content_variables:
            params["content_variables"] = json.dumps(content_variables)
    else:
        params["body"] = body or ""
    if settings.status_callback:
        params["status_callback"] = settings.status_callback
    created = _call_twilio(lambda: make_client(settings).messages.create(**params), refusals=True)
    return SendResult(provider_id=str(created.sid), status=str(created.status))


def find_sent(
    settings: TwilioSettings, *, to: str, body: str, whatsapp: bool, since: datetime, known: set[str]
) -> str | None:
    """The sid of a message Twilio already holds for (to, body), created at or after `since`
    and not in `known`; None if there is none. Asked before sending again after an attempt whose
    outcome is unknown (the worker died, or the database lost the result), so a retry doesn't
    send twice: Twilio's API takes no idempotency key. Raises TwilioRequestFailed (retry)."""
    params: dict[str, Any] = {"to": f"whatsapp:{to}" if whatsapp else to, "limit": 50}
    sender = settings.whatsapp_from if whatsapp else settings.sms_from
    if not sender.startswith("MG"):
        params["from_"] = sender
    for record in _call_twilio(lambda: make_client(settings).messages.list(**params)):
        created = record.date_created
        if record.sid not in known and record.body == body and created is not None and created >= since:
            return str(record.sid)
    return None


def media_request_url(settings: TwilioSettings, url: str) -> str:
    """Where to fetch an inbound media URL: only Twilio's API host, moved onto TWILIO_API_BASE_URL.

    A media URL comes from a signed webhook, but fetching arbitrary hosts with our credentials
    would still be one forged payload away from leaking them; so anything else is refused.
    """
    parsed = urlparse(url)
    base = urlparse(settings.api_base_url)
    if parsed.scheme == "https" and parsed.hostname == TWILIO_API_HOST:
        return settings.api_base_url.rstrip("/") + parsed.path
    if (parsed.scheme, parsed.netloc) == (base.scheme, base.netloc):
        return url
    raise MediaRefused("media URL is not on Twilio's API host")


def fetch_media(settings: TwilioSettings, url: str, max_bytes: int = MAX_MEDIA_BYTES) -> bytes:
    """Download one inbound media file with the account's credentials.

    Twilio answers with a redirect to its storage; requests drops the Authorization header
    when a redirect leaves the host, so the credentials never reach the storage host.
    Raises MediaRefused for permanent problems; network errors and 5xx propagate (retry).
    """
    response = requests.get(
        media_request_url(settings, url),
        auth=(settings.account_sid, settings.auth_token),
        stream=True,
        timeout=REQUEST_TIMEOUT_SECONDS,
    )
    with response:
        if response.status_code in (401, 403, 404, 410):
            raise MediaRefused(f"Twilio answered {response.status_code} for the media")
        response.raise_for_status()
        declared = response.headers.get("Content-Length")
        if declared and declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
            raise MediaRefused("media is larger than the limit")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=64 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise MediaRefused("media is larger than the limit")
            chunks.append(chunk)
    return b"".join(chunks)
