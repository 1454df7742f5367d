"""RQ entry points: thin wrappers that open a transaction, read settings and call the domain.

Each takes ids, is idempotent (a sweeper or a retry may run it again) and lets failures reach
RQ (retry, then the FailedJobRegistry). Their dotted names (`app.jobs.*`) are stored in Redis
with every queued job, so they stay here; `app/dispatch.py` says which queue and job id each
runs under.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import requests
from flask import current_app
from redis.exceptions import RedisError
from rq.job import Job

from app.db import session_scope
from app.dispatch import (
    EMAIL_NOTIFICATION,
    FETCH_MEDIA,
    PROCESS_INBOUND,
    RECORD_COMPLIANCE,
    SEND_OUTBOUND,
    STAFF_ALERT,
    compliance_key,
    enqueue_after_commit,
    enqueue_now,
    ensure_all,
    ensure_enqueued,
)
from app.mail import MailFailed, default_sender, parse_smtp_url, send_mail
from app.media import delete_media, store_media
from app.mt import get_translator
from app.queues import get_queues
from app.transparency.release import refresh_release
from casework import pipeline
from casework.alerts import ALERT_KINDS, alert_payload, alert_recorded, unsent_alerts
from casework.audit import record_event
from casework.compliance.anonymize import anonymize, unrecorded_closures
from casework.intake import (
    IntakeServices,
    media_to_fetch,
    process_inbound,
    unfetched_media_ids,
    unprocessed_message_ids,
)
from casework.models import Case, ChannelKind, MediaAttachment, StaffNotification, StaffUser, utcnow
from casework.notifications import email_text, unemailed_ids
from casework.outbox import release_held, unsent_message_ids
from casework.retention import erase_expired
from casework.sla import escalate_overdue, load_sla_policy, warn_nearing_deadlines
from casework.triage import load_lexicon
from channels.twilio.outbound import claim_send, deliver, record_send, status_callback_url
from channels.twilio.sender import MediaRefused, TwilioSettings, fetch_media

log = logging.getLogger(__name__)
MEDIA_SWEEP_WINDOW = timedelta(days=1)
NOTIFICATION_MAIL_WINDOW = timedelta(days=1)


def intake_services() -> IntakeServices:
    """The intake pipeline with this process's translator and the deployment's data files."""
    config = current_app.config
    return pipeline.intake_services(
        translator=get_translator(),
        working_language=config["WORKING_LANGUAGE"],
        lexicon=load_lexicon(config["TRIAGE_LEXICON_PATH"]),
        policy=load_sla_policy(config["SLA_POLICY_PATH"]),
        rules_path=config["ROUTING_RULES_PATH"],
    )


def twilio_settings(message_id: int | None = None) -> TwilioSettings:
    config = current_app.config
    return TwilioSettings(
        account_sid=config["TWILIO_ACCOUNT_SID"],
        auth_token=config["TWILIO_AUTH_TOKEN"],
        sms_from=config["TWILIO_SMS_FROM"],
        whatsapp_from=config["TWILIO_WHATSAPP_FROM"],
        api_base_url=config["TWILIO_API_BASE_URL"],
        status_callback=status_callback_url(config["PUBLIC_BASE_URL"], message_id),
    )


def process_inbound_message(message_id: int) -> str:
    """Turn a stored inbound message into case work (case, triage, routing, acknowledgement, audit)."""
    released: list[int] = []
    with session_scope() as session:
        message = process_inbound(session, message_id, intake_services())
        if message is None:
            return "missing"
        if message.channel == ChannelKind.WHATSAPP and message.reporter_id is not None:
            released = release_held(session, message.reporter_id)  # their message reopened the window
        if current_app.config["TWILIO_ACCOUNT_SID"]:  # without credentials the URLs stay with the case
            for attachment_id in media_to_fetch(session, message_id):
                enqueue_after_commit(session, FETCH_MEDIA, attachment_id)
    for held_id in released:
        try:
            ensure_enqueued(SEND_OUTBOUND, held_id)
        except RedisError:
            log.warning("released message left to the sweeper", extra={"message_id": held_id})
    return "processed"


def send_outbound(message_id: int) -> str:
    """Send one queued outbound message through Twilio, once (`channels/twilio/outbound.py`).

    Transient errors raise so RQ retries; the claim lets a retry find an earlier send.
    """
    template_sid = current_app.config["TWILIO_WHATSAPP_TEMPLATE_SID"] or None
    settings = twilio_settings(message_id)
    with session_scope() as session:
        claim = claim_send(session, message_id, account_sid=settings.account_sid, template_sid=template_sid)
    if isinstance(claim, str):
        return claim
    delivery = deliver(settings, claim)
    with session_scope() as session:
        return record_send(session, claim, delivery, template_sid=template_sid)


def fetch_inbound_media(attachment_id: int) -> str:
    """Download one inbound media file and keep it, encrypted, with the case (`app/media.py`)."""
    with session_scope() as session:
        attachment = session.get(MediaAttachment, attachment_id, with_for_update=True)
        if attachment is None or attachment.fetched_at is not None or attachment.url is None:
            return "skipped"
        settings = twilio_settings()
        if not settings.account_sid:
            return "no-credentials"
        try:
            content = fetch_media(settings, attachment.url)
        except MediaRefused as exc:
            log.warning("media not fetched", extra={"attachment_id": attachment_id, "reason": str(exc)})
            return "refused"
        attachment.stored_path = store_media(attachment.message_id, attachment_id, content)
        attachment.size_bytes = len(content)
        attachment.fetched_at = utcnow()
        return "fetched"


def send_staff_alert(case_id: int, kind: str) -> str:
    """Tell on-duty staff about an urgent or escalated case: POST to ALERT_WEBHOOK_URL, else log.

    At least once: a retry after a lost commit may alert twice, never zero times.
    """
    config = current_app.config
    with session_scope() as session:
        case = session.get(Case, case_id)
        if case is None or kind not in ALERT_KINDS:
            return "skipped"
        if alert_recorded(session, case_id, "alert_sent", kind):
            return "already-sent"
        payload = alert_payload(case, kind, config["PUBLIC_BASE_URL"])
        if config["ALERT_WEBHOOK_URL"]:
            response = requests.post(config["ALERT_WEBHOOK_URL"], json=payload, timeout=10)
            response.raise_for_status()  # a failure goes to RQ's retry, then the failed registry
            via = "webhook"
        else:
            via = "log"
        log.warning("staff alert", extra={"alert": payload, "via": via})
        record_event(session, action="alert_sent", case_id=case_id, kind=kind, via=via)
        return via


def escalate_overdue_cases() -> dict[str, int]:
    """Periodic: escalate overdue cases to a supervisor (each escalation alerts); re-enqueue lost alerts.

    Also notifies staff of cases whose clocks are nearly spent (once per case and clock).
    """
    with session_scope() as session:
        escalated = escalate_overdue(session)
        unsent = unsent_alerts(session, raised_after=utcnow() - timedelta(days=2))
    with session_scope() as session:
        warned = warn_nearing_deadlines(session)
    for case_id, kind in unsent:
        ensure_enqueued(STAFF_ALERT, case_id, kind, key=(kind, case_id))
    return {"escalated": len(escalated), "alerts_requeued": len(unsent), "nearing": len(warned)}


def email_staff_notification(notification_id: int) -> str:
    """E-mail one staff notification (kind, case reference, links; no personal data) over SMTP_URL.

    At least once: a lost commit after the send may e-mail twice, never zero times. A failure
    raises MailFailed (its kind only) for RQ's retry; the sweeper re-enqueues it within a day.
    """
    config = current_app.config
    if not config["SMTP_URL"]:
        return "no-smtp"
    with session_scope() as session:
        row = session.get(StaffNotification, notification_id)
        if row is None:
            return "missing"
        if row.emailed_at is not None:
            return "already-sent"
        recipient = session.get(StaffUser, row.recipient_id)
        case = session.get(Case, row.case_id)
        if recipient is None or case is None or not recipient.active:
            return "skipped"
        address, kind, reference = recipient.email, row.kind, case.reference
    settings = parse_smtp_url(config["SMTP_URL"])
    subject, body = email_text(kind, reference, config["PUBLIC_BASE_URL"])
    try:
        send_mail(
            settings,
            sender=settings.sender or default_sender(config["PUBLIC_BASE_URL"]),
            to=address,
            subject=subject,
            body=body,
        )
    except MailFailed as exc:
        log.warning("notification e-mail failed", extra={"notification_id": notification_id, "failure": str(exc)})
        raise
    with session_scope() as session:
        row = session.get(StaffNotification, notification_id, with_for_update=True)
        if row is not None and row.emailed_at is None:
            row.emailed_at = utcnow()
    return "sent"


def sweep_unemailed_notifications() -> int:
    """Re-enqueue notification e-mails Redis lost or that ended unsent, for notifications under a day old."""
    if not current_app.config["SMTP_URL"]:
        return 0
    now = utcnow()
    with session_scope() as session:
        ids = unemailed_ids(session, created_before=now - _sweep_cutoff(), created_after=now - NOTIFICATION_MAIL_WINDOW)
    queued = _count_enqueued(ensure_all(EMAIL_NOTIFICATION, [((i,), (i,)) for i in ids]))
    if queued:
        log.warning("sweeper re-enqueued notification e-mails", extra={"notifications": queued})
    return queued


def _count_enqueued(outcomes: list[str]) -> int:
    return sum(1 for outcome in outcomes if outcome in ("enqueued", "requeued"))


def _sweep_cutoff() -> timedelta:
    return timedelta(seconds=current_app.config["SWEEP_AFTER_SECONDS"])


def sweep_unprocessed() -> dict[str, int]:
    """Re-enqueue work the database says is pending but Redis may have lost."""
    cutoff = utcnow() - _sweep_cutoff()
    with session_scope() as session:
        inbound_ids = unprocessed_message_ids(session, stored_before=cutoff)
        outbound_ids = unsent_message_ids(session, queued_before=cutoff)
    counts = {
        "inbound": _count_enqueued(ensure_all(PROCESS_INBOUND, [((i,), (i,)) for i in inbound_ids])),
        "outbound": _count_enqueued(ensure_all(SEND_OUTBOUND, [((i,), (i,)) for i in outbound_ids])),
    }
    if any(counts.values()):
        log.warning("sweeper re-enqueued lost jobs", extra=counts)
    return counts


def sweep_unfetched_media() -> int:
    """Re-enqueue media fetches Redis lost (no job record left), for media under a day old.

    A fetch that ran and was refused leaves a finished job for an hour (RQ's result TTL), so a
    permanently refused file is tried again at most once an hour, and not after a day.
    """
    if not current_app.config["TWILIO_ACCOUNT_SID"]:
        return 0
    now = utcnow()
    with session_scope() as session:
        attachment_ids = unfetched_media_ids(
            session, stored_before=now - _sweep_cutoff(), stored_after=now - MEDIA_SWEEP_WINDOW
        )
    connection = get_queues().connection
    lost = [i for i in attachment_ids if not Job.exists(FETCH_MEDIA.job_id(i), connection=connection)]
    for attachment_id in lost:
        enqueue_now(FETCH_MEDIA, attachment_id)
    if lost:
        log.warning("sweeper re-enqueued lost media fetches", extra={"media": len(lost)})
    return len(lost)


def record_compliance(case_id: int) -> str:
    """Write (or refresh) the anonymized compliance record of a closed case."""
    with session_scope() as session:
        return "recorded" if anonymize(session, case_id) is not None else "not-closed"


def sweep_compliance() -> int:
    """Enqueue anonymization for closed cases whose record is missing or older than the closure."""
    with session_scope() as session:
        jobs = [
            ((case.id,), compliance_key(case))
            for case in unrecorded_closures(session, closed_before=utcnow() - _sweep_cutoff())
        ]
    queued = _count_enqueued(ensure_all(RECORD_COMPLIANCE, jobs))
    if queued:
        log.warning("compliance sweeper enqueued missing records", extra={"cases": queued})
    return queued


def apply_retention() -> dict[str, int]:
    """Erase personal data of cases closed longer than RETENTION_DAYS (their compliance record stays)."""
    with session_scope() as session:
        return erase_expired(session, retention_days=current_app.config["RETENTION_DAYS"], delete_file=delete_media)


def refresh_compliance_release() -> int:
    """Recompute the public compliance release and share it with web processes through Redis."""
    return refresh_release()
