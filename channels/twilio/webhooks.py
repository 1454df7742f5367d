"""Twilio webhooks: inbound SMS and WhatsApp messages, and delivery-status callbacks.

Every request is verified (signature over `PUBLIC_BASE_URL` + path), parsed strictly, and
stored in the request's transaction before Twilio gets a 2xx. If the database can't store it
we answer 503, so Twilio's retry (or the sender) tries again: a 2xx always means "stored".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel import Session
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from casework.intake import accept_inbound
from casework.models import ChannelKind, utcnow
from channels.twilio.payloads import PayloadError, decode_form, parse_inbound, parse_status
from channels.twilio.signature import SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, public_url, signature_is_valid
from channels.twilio.status import apply_status, find_outbound

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/channels/twilio")
SESSION_PROVIDER_KEY = "tulay.channels.session"

# The database is unreachable or overloaded: nothing was stored, so Twilio must try again.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)
RETRY_AFTER_SECONDS = "5"


def init_app(app: Flask, get_session: Callable[[], Session]) -> None:
    """Register the webhooks; `get_session` gives the request's database session (the app owns it)."""
    app.extensions[SESSION_PROVIDER_KEY] = get_session
    app.register_blueprint(bp)


def get_session() -> Session:
    provider: Callable[[], Session] = current_app.extensions[SESSION_PROVIDER_KEY]
    return provider()


@bp.errorhandler(PayloadError)
def _bad_payload(exc: PayloadError) -> tuple[Response, int]:
    return jsonify(error=exc.message), exc.status


def _database_unavailable(exc: Exception) -> tuple[Response, int, dict[str, str]]:
    get_session().rollback()
    log.error("webhook not stored: database unavailable", extra={"error": type(exc).__name__, "path": request.path})
    return jsonify(error="temporarily unable to store the message; retry"), 503, {"Retry-After": RETRY_AFTER_SECONDS}


for _error in DATABASE_UNAVAILABLE:
    bp.register_error_handler(_error, _database_unavailable)


def verified_form() -> MultiDict[str, str]:
    """The request's form, decoded strictly, once its Twilio signature checks out.

    Raises PayloadError: 415/400 for a body that isn't a UTF-8 form, 403 for a bad signature.
    Flask answers 413 itself for bodies over MAX_CONTENT_LENGTH.
    """
    form = decode_form(request.get_data(cache=True), request.content_type)
    url = public_url(current_app.config["PUBLIC_BASE_URL"], request.path, request.query_string.decode("latin-1"))
    if not signature_is_valid(
        current_app.config["TWILIO_AUTH_TOKEN"],
        url,
        form,
        request.headers.get(SIGNATURE_HEADER),
        request.headers.get(SIGNATURE_SETTINGS_HEADER),
    ):
        log.warning("webhook refused: bad or missing Twilio signature", extra={"path": request.path})
        raise PayloadError(403, "invalid or missing X-Twilio-Signature")
    return form


def empty_twiml() -> Response:
    # No immediate reply: the acknowledgement goes out through the outbox, in the reporter's
    # language, once the message is processed.
    return Response(str(MessagingResponse()), mimetype="text/xml")


def receive(channel: ChannelKind) -> Response:
    inbound = parse_inbound(verified_form(), channel, utcnow())
    session = get_session()
    message, created = accept_inbound(session, inbound)
    session.commit()
    log.info(
        "inbound stored" if created else "inbound replay ignored",
        extra={"message_id": message.id, "channel": channel.value, "media": len(inbound.media)},
    )
    return empty_twiml()


@bp.post("/sms")
def receive_sms() -> Response:
    """Store an inbound SMS durably and answer empty TwiML."""
    return receive(ChannelKind.SMS)


@bp.post("/whatsapp")
def receive_whatsapp() -> Response:
    """Store an inbound WhatsApp message (with its media references) and answer empty TwiML."""
    return receive(ChannelKind.WHATSAPP)


@bp.post("/status")
def receive_status() -> tuple[str, int]:
    """Record a delivery status for one of our outbound messages.

    The send job puts our message id in the callback URL (`?m=ID`, covered by the signature),
    so a callback that races the send job's commit finds the row by id and waits on its lock
    instead of missing it. Error 21610 means the reporter opted out at Twilio.
    """
    callback = parse_status(verified_form())
    session = get_session()
    message = find_outbound(session, request.args.get("m", ""), callback.message_sid)
    if message is None:
        log.info("status callback for an unknown message ignored")
    else:
        apply_status(session, message, callback)
    session.commit()
    return "", 204
