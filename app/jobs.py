"""RQ entry points. Each takes ids, opens its own transaction, and is idempotent, so the
sweeper or a retry can run it again safely. Failures propagate to RQ (retry, then the
FailedJobRegistry); nothing is swallowed here."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlmodel import col, select

from app.db import session_scope
from app.queues import ensure_enqueued
from casework.intake import IntakeServices, process_inbound
from casework.models import DeliveryStatus, Direction, Message, ProcessingState, Reporter, utcnow
from casework.outbox import record_delivery_status
from channels.twilio.sender import PermanentSendError, TwilioSettings, send_message

log = logging.getLogger(__name__)


def intake_services() -> IntakeServices:
    return IntakeServices(working_language=current_app.config["WORKING_LANGUAGE"])


def process_inbound_message(message_id: int) -> str:
    """Turn a stored inbound message into case work (case, acknowledgement, audit)."""
    with session_scope() as session:
        message = process_inbound(session, message_id, intake_services())
        return "missing" if message is None else "processed"


def twilio_settings() -> TwilioSettings:
    config = current_app.config
    return TwilioSettings(
        account_sid=config["TWILIO_ACCOUNT_SID"], auth_token=config["TWILIO_AUTH_TOKEN"],
        sms_from=config["TWILIO_SMS_FROM"], whatsapp_from=config["TWILIO_WHATSAPP_FROM"],
        api_base_url=config["TWILIO_API_BASE_URL"],
        status_callback=config["PUBLIC_BASE_URL"].rstrip("/") + "/channels/twilio/status",
    )


def send_outbound(message_id: int) -> str:
    """Send one queued outbound message through Twilio; at most once per successful call."""
    with session_scope() as session:
        message = session.get(Message, message_id, with_for_update=True)
        if message is None or message.delivery_status != DeliveryStatus.QUEUED:
            return "skipped"
        reporter = session.get(Reporter, message.reporter_id)
        if reporter is None or reporter.contact is None or reporter.opted_out:
            message.delivery_status = DeliveryStatus.SUPPRESSED
            return "suppressed"
        settings = twilio_settings()
        if not settings.account_sid:
            raise RuntimeError("TWILIO_ACCOUNT_SID is not configured; the message stays queued")
        message.send_attempts += 1
        try:
            result = send_message(settings, to=reporter.contact, body=message.body or "",
                                  whatsapp=message.channel == "whatsapp")
        except PermanentSendError as exc:
            message.delivery_status = DeliveryStatus.FAILED
            message.delivery_error_code = exc.code
            log.info("outbound refused permanently", extra={"message_id": message_id, "code": exc.code})
            return "failed"
        message.provider_id = result.provider_id
        message.segments = result.segments
        message.sent_at = utcnow()
        record_delivery_status(session, message, DeliveryStatus.ACCEPTED)
        return "sent"


def sweep_unprocessed() -> dict[str, int]:
    """Re-enqueue work the database says is pending but Redis may have lost."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["SWEEP_AFTER_SECONDS"])
    counts = {"inbound": 0, "outbound": 0}
    with session_scope() as session:
        inbound_ids = session.exec(select(Message.id).where(
            Message.direction == Direction.INBOUND, Message.processing_state == ProcessingState.RECEIVED,
            col(Message.created_at) < cutoff).limit(5000)).all()
        outbound_ids = session.exec(select(Message.id).where(
            Message.direction == Direction.OUTBOUND, Message.delivery_status == DeliveryStatus.QUEUED,
            col(Message.created_at) < cutoff).limit(5000)).all()
    for message_id in inbound_ids:
        if ensure_enqueued("intake", "app.jobs.process_inbound_message", message_id,
                           job_id=f"inbound-{message_id}") in ("queued", "requeued"):
            counts["inbound"] += 1
    for message_id in outbound_ids:
        if ensure_enqueued("outbound", "app.jobs.send_outbound", message_id,
                           job_id=f"outbound-{message_id}") in ("queued", "requeued"):
            counts["outbound"] += 1
    if any(counts.values()):
        log.warning("sweeper re-enqueued lost jobs", extra=counts)
    return counts


def record_compliance(case_id: int) -> str:
    """Write (or refresh) the anonymized compliance record of a closed case."""
    from casework.compliance import anonymize

    with session_scope() as session:
        return "recorded" if anonymize(session, case_id) is not None else "not-closed"


def sweep_compliance() -> int:
    """Enqueue anonymization for closed cases whose record is missing or older than the closure."""
    from app.compliance_dispatch import compliance_job_id
    from casework.models import Case, CaseStatus

    cutoff = utcnow() - timedelta(seconds=current_app.config["SWEEP_AFTER_SECONDS"])
    with session_scope() as session:
        cases = session.exec(select(Case).where(
            Case.status == CaseStatus.CLOSED, col(Case.closed_at) < cutoff,
            (col(Case.compliance_recorded_at).is_(None)) | (col(Case.compliance_recorded_at) < col(Case.closed_at)),
        ).limit(5000)).all()
        jobs = [(case.id, compliance_job_id(case)) for case in cases]
    queued = sum(1 for case_id, job_id in jobs
                 if ensure_enqueued("reports", "app.jobs.record_compliance", case_id, job_id=job_id)
                 in ("queued", "requeued"))
    if queued:
        log.warning("compliance sweeper enqueued missing records", extra={"cases": queued})
    return queued


def apply_retention() -> dict[str, int]:
    """Erase personal data of cases closed longer than RETENTION_DAYS (their compliance record stays)."""
    from app.retention import delete_media_file
    from casework.retention import erase_expired

    with session_scope() as session:
        return erase_expired(session, retention_days=current_app.config["RETENTION_DAYS"],
                             delete_file=delete_media_file)


def refresh_compliance_release() -> int:
    """Recompute the public compliance release and share it with web processes through Redis."""
    from app.compliance_cache import refresh_release

    return refresh_release()
