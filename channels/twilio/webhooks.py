"""Twilio webhooks: inbound SMS and WhatsApp messages, and delivery-status callbacks.

Every request is verified (signature over `PUBLIC_BASE_URL` + path), parsed strictly, and
stored in the request's transaction before Twilio gets a 2xx. If the database can't store it
we answer 503, so Twilio's retry (or the sender) tries again: a 2xx always means "stored".
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel import Session, select
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from app.db import get_session
from casework.intake import accept_inbound
from casework.models import ChannelKind, Direction, Message, Reporter, utcnow
from casework.outbox import record_delivery_status, set_opt_out
from channels.twilio.errors import OPTED_OUT
from channels.twilio.payloads import PayloadError, StatusCallback, decode_form, parse_inbound, parse_status
from channels.twilio.signature import SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, public_url, signature_is_valid

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/channels/twilio")

# The database is unreachable or overloaded: nothing was stored, so Twilio must try again.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)
RETRY_AFTER_SECONDS = "5"


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
