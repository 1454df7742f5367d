"""RQ entry points. Each takes ids, opens its own transaction, and is idempotent, so the
sweeper or a retry can run it again safely. Failures propagate to RQ (retry, then the
FailedJobRegistry); nothing is swallowed here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

import requests
from flask import current_app
from redis.exceptions import RedisError
from rq.job import Job
from sqlmodel import Session, col, select

from app.db import session_scope
from app.mt import get_translator
from app.queues import enqueue, enqueue_after_commit, ensure_all_enqueued, ensure_enqueued, get_queues
from casework.alerts import ALERT_KINDS, alert_payload, alert_recorded, raise_urgent_alert
from casework.audit import record_event
from casework.intake import IntakeServices, process_inbound
from casework.models import (
    Case,
    CaseEvent,
    CaseStatus,
    ChannelKind,
    DeliveryStatus,
    Direction,
    MediaAttachment,
    Message,
    ProcessingState,
    Reporter,
    utcnow,
)
from casework.outbox import (
    TEMPLATE_KIND,
    hold_for_window,
    in_whatsapp_window,
    may_send,
    record_delivery_status,
    release_held,
    set_opt_out,
)
from casework.privacy import encrypt_bytes
from casework.routing import current_rules, route_case
from casework.sla import escalate_overdue, load_sla_policy, set_deadlines
from casework.translation import detect_and_translate
from casework.triage import apply_triage, load_lexicon
from channels.twilio.errors import OPTED_OUT, OUTSIDE_WHATSAPP_WINDOW
from channels.twilio.segments import count_segments, prefer_gsm7
from channels.twilio.sender import (
    MediaRefused,
    PermanentSendError,
    TwilioSettings,
    fetch_media,
    find_sent,
    send_message,
)

log = logging.getLogger(__name__)
# More SMS segments than this for one message is worth a warning: each costs money and
# concatenated parts can arrive out of order on some networks.
SEGMENT_WARNING = 4
MEDIA_SWEEP_WINDOW = timedelta(days=1)


def intake_services() -> IntakeServices:
    working_language = current_app.config["WORKING_LANGUAGE"]
    translator = get_translator()
    # Language and translation first, so triage and routing read the translation too.
    translation_step = partial(detect_and_translate, translator=translator, working_language=working_language)
    return IntakeServices(
        working_language=working_language, translator=translator, steps=(translation_step, *casework_steps())
    )


def casework_steps() -> tuple[Callable[[Session, Message, Case], None], ...]:
    """Triage (category, urgency, country, sector, names; SLA clocks) then routing; run after
    any language/translation step so they read the translation too."""
    config = current_app.config
    lexicon = load_lexicon(config["TRIAGE_LEXICON_PATH"])
    policy = load_sla_policy(config["SLA_POLICY_PATH"])
    rules_path = config["ROUTING_RULES_PATH"]

    def triage_step(session: Session, message: Message, case: Case) -> None:
        if case.status == CaseStatus.CLOSED:
            return
        apply_triage(session, case, message, lexicon)
        set_deadlines(case, policy)

    def routing_step(session: Session, message: Message, case: Case) -> None:
        if case.status == CaseStatus.CLOSED:
            return
        decision = route_case(session, case, current_rules(session, rules_path))
        if decision.alert and raise_urgent_alert(session, case):
            enqueue_after_commit(
                session, "outbound", "app.jobs.send_staff_alert", case.id, "urgent", job_id=f"alert-urgent-{case.id}"
            )

    return (triage_step, routing_step)


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
    """Periodic: escalate overdue cases to a supervisor, and alert; re-enqueue lost alerts."""
    with session_scope() as session:
        escalated = escalate_overdue(session)
        for case_id in escalated:
            enqueue_after_commit(
                session,
                "outbound",
                "app.jobs.send_staff_alert",
                case_id,
                "sla_escalation",
                job_id=f"alert-sla_escalation-{case_id}",
            )
        since = utcnow() - timedelta(days=2)
        raised = session.exec(
            select(CaseEvent.case_id, CaseEvent.detail).where(
                CaseEvent.action == "alert_raised", col(CaseEvent.created_at) >= since
            )
        ).all()
        unsent = [
            (cid, d.get("kind", "urgent"))
            for cid, d in raised
            if cid is not None and not alert_recorded(session, cid, "alert_sent", d.get("kind", "urgent"))
        ]
    for case_id, kind in unsent:
        ensure_enqueued("outbound", "app.jobs.send_staff_alert", case_id, kind, job_id=f"alert-{kind}-{case_id}")
    return {"escalated": len(escalated), "alerts_requeued": len(unsent)}


def process_inbound_message(message_id: int) -> str:
    """Turn a stored inbound message into case work (case, acknowledgement, audit)."""
    released: list[int] = []
    with session_scope() as session:
        message = process_inbound(session, message_id, intake_services())
        if message is None:
            return "missing"
        if message.channel == ChannelKind.WHATSAPP and message.reporter_id is not None:
            released = release_held(session, message.reporter_id)  # their message reopened the window
        queue_media_fetches(session, message_id)
    for held_id in released:
        try:
            ensure_enqueued("outbound", "app.jobs.send_outbound", held_id, job_id=f"outbound-{held_id}")
        except RedisError:
            log.warning("released message left to the sweeper", extra={"message_id": held_id})
    return "processed"


def queue_media_fetches(session: Session, message_id: int) -> None:
    if not current_app.config["TWILIO_ACCOUNT_SID"]:
        return  # no credentials: the URLs and content types stay with the case
    attachments = session.exec(
        select(MediaAttachment.id).where(
            MediaAttachment.message_id == message_id, col(MediaAttachment.fetched_at).is_(None)
        )
    ).all()
    for attachment_id in attachments:
        enqueue_after_commit(
            session, "outbound", "app.jobs.fetch_inbound_media", attachment_id, job_id=f"media-{attachment_id}"
        )


def twilio_settings(message_id: int | None = None) -> TwilioSettings:
    config = current_app.config
    callback = config["PUBLIC_BASE_URL"].rstrip("/") + "/channels/twilio/status"
    return TwilioSettings(
        account_sid=config["TWILIO_ACCOUNT_SID"],
        auth_token=config["TWILIO_AUTH_TOKEN"],
        sms_from=config["TWILIO_SMS_FROM"],
        whatsapp_from=config["TWILIO_WHATSAPP_FROM"],
        api_base_url=config["TWILIO_API_BASE_URL"],
        # Our id in the callback URL (signed by Twilio with the rest) finds the row even when the
        # callback races this job's commit.
        status_callback=f"{callback}?m={message_id}" if message_id is not None else callback,
    )


def send_outbound(message_id: int) -> str:
    """Send one queued outbound message through Twilio, once.

    Three steps, because the call to Twilio can't join our transaction: (1) claim the message
    (SENDING, committed); (2) call Twilio; (3) record the result. If the worker dies or the
    database loses step 3, the retry finds the claim and first asks Twilio whether it already
    holds the message (`find_sent`) instead of sending it twice. Permanent refusals mark the
    message failed (21610 also opts the reporter out); transient errors raise so RQ retries.
    WhatsApp outside the 24-hour window holds the message and queues the approved template.
    """
    with session_scope() as session:
        message = session.get(Message, message_id, with_for_update=True)
        unknown_outcome = (
            message is not None and message.delivery_status == DeliveryStatus.SENDING and message.provider_id is None
        )
        if message is None or (message.delivery_status != DeliveryStatus.QUEUED and not unknown_outcome):
            return "skipped"
        reporter = session.get(Reporter, message.reporter_id)
        if reporter is None or reporter.contact is None or not may_send(reporter, message):
            message.delivery_status = DeliveryStatus.SUPPRESSED
            return "suppressed"
        settings = twilio_settings(message.id)
        if not settings.account_sid:
            raise RuntimeError("TWILIO_ACCOUNT_SID is not configured; the message stays queued")
        whatsapp = message.channel == ChannelKind.WHATSAPP
        template_sid = current_app.config["TWILIO_WHATSAPP_TEMPLATE_SID"]
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
        to, body, kind = reporter.contact, message.body, message.kind
        known: set[str] = set()
        if earlier is not None:  # sids we already recorded for this reporter are not this message's
            known = set(
                session.exec(
                    select(Message.provider_id).where(
                        Message.reporter_id == reporter.id, col(Message.provider_id).is_not(None)
                    )
                ).all()
            )
    provider_id = None
    if earlier is not None and body:
        # Twilio's clock and ours differ: look a minute before the first attempt.
        provider_id = find_sent(
            settings, to=to, body=body, whatsapp=whatsapp, since=earlier - timedelta(minutes=1), known=known
        )
        if provider_id is not None:
            log.info("earlier send found at Twilio; not sending again", extra={"message_id": message_id})
    refusal = None
    if provider_id is None:
        try:
            provider_id = send_message(
                settings,
                to=to,
                body=body,
                whatsapp=whatsapp,
                content_sid=template_sid if kind == TEMPLATE_KIND else None,
                content_variables=content_variables,
            ).provider_id
        except PermanentSendError as exc:
            refusal = exc
    with session_scope() as session:
        message = session.get_one(Message, message_id, with_for_update=True)
        if refusal is not None:
            reporter = session.get_one(Reporter, message.reporter_id)
            if refusal.code == OUTSIDE_WHATSAPP_WINDOW and whatsapp and message.kind != TEMPLATE_KIND:
                hold_for_window(session, message, reporter, template_available=bool(template_sid))
                return "held"
            message.delivery_status = DeliveryStatus.FAILED
            message.delivery_error_code = refusal.code
            if refusal.code == OPTED_OUT:
                set_opt_out(session, reporter, True, source="twilio_21610")
            log.info("outbound refused permanently", extra={"message_id": message_id, "code": refusal.code})
            return "failed"
        message.provider_id = provider_id
        message.sent_at = utcnow()
        record_delivery_status(session, message, DeliveryStatus.ACCEPTED)
        return "sent"


def fetch_inbound_media(attachment_id: int) -> str:
    """Download one inbound media file and keep it, encrypted, under the instance folder."""
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
        relative = Path("media") / f"{attachment.message_id}" / f"{attachment_id}.bin"
        target = Path(current_app.instance_path) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(encrypt_bytes(content))
        partial.replace(target)  # atomic: a reader never sees half a file
        attachment.stored_path = str(relative)
        attachment.size_bytes = len(content)
        attachment.fetched_at = utcnow()
        return "fetched"


def sweep_unfetched_media() -> int:
    """Re-enqueue media fetches Redis lost (no job record left), for media under a day old.

    A fetch that ran and was refused leaves a finished job for an hour (RQ's result TTL), so a
    permanently refused file is tried again at most once an hour, and not after a day.
    """
    if not current_app.config["TWILIO_ACCOUNT_SID"]:
        return 0
    now = utcnow()
    cutoff = now - timedelta(seconds=current_app.config["SWEEP_AFTER_SECONDS"])
    with session_scope() as session:
        attachment_ids = session.exec(
            select(MediaAttachment.id)
            .where(
                col(MediaAttachment.fetched_at).is_(None),
                col(MediaAttachment.url).is_not(None),
                col(MediaAttachment.created_at) < cutoff,
                col(MediaAttachment.created_at) > now - MEDIA_SWEEP_WINDOW,
            )
            .limit(5000)
        ).all()
    connection = get_queues().connection
    count = 0
    for attachment_id in attachment_ids:
        job_id = f"media-{attachment_id}"
        if not Job.exists(job_id, connection=connection):
            enqueue("outbound", "app.jobs.fetch_inbound_media", attachment_id, job_id=job_id)
            count += 1
    if count:
        log.warning("sweeper re-enqueued lost media fetches", extra={"media": count})
    return count


def _count_enqueued(outcomes: list[str]) -> int:
    return sum(1 for outcome in outcomes if outcome in ("enqueued", "requeued"))


def sweep_unprocessed() -> dict[str, int]:
    """Re-enqueue work the database says is pending but Redis may have lost."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["SWEEP_AFTER_SECONDS"])
    with session_scope() as session:
        inbound_ids = session.exec(
            select(Message.id)
            .where(
                Message.direction == Direction.INBOUND,
                Message.processing_state == ProcessingState.RECEIVED,
                col(Message.created_at) < cutoff,
            )
            .limit(5000)
        ).all()
        outbound_ids = session.exec(
            select(Message.id)
            .where(
                Message.direction == Direction.OUTBOUND,
                col(Message.created_at) < cutoff,
                (Message.delivery_status == DeliveryStatus.QUEUED)
                | ((Message.delivery_status == DeliveryStatus.SENDING) & col(Message.provider_id).is_(None)),
            )
            .limit(5000)
        ).all()
    counts = {
        "inbound": _count_enqueued(
            ensure_all_enqueued(
                "intake", "app.jobs.process_inbound_message", [(f"inbound-{i}", (i,)) for i in inbound_ids]
            )
        ),
        "outbound": _count_enqueued(
            ensure_all_enqueued("outbound", "app.jobs.send_outbound", [(f"outbound-{i}", (i,)) for i in outbound_ids])
        ),
    }
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
        cases = session.exec(
            select(Case)
            .where(
                Case.status == CaseStatus.CLOSED,
                col(Case.closed_at) < cutoff,
                (col(Case.compliance_recorded_at).is_(None)) | (col(Case.compliance_recorded_at) < col(Case.closed_at)),
            )
            .limit(5000)
        ).all()
        jobs = [(case.id, compliance_job_id(case)) for case in cases]
    queued = _count_enqueued(
        ensure_all_enqueued("reports", "app.jobs.record_compliance", [(job_id, (case_id,)) for case_id, job_id in jobs])
    )
    if queued:
        log.warning("compliance sweeper enqueued missing records", extra={"cases": queued})
    return queued


def apply_retention() -> dict[str, int]:
    """Erase personal data of cases closed longer than RETENTION_DAYS (their compliance record stays)."""
    from app.retention import delete_media_file
    from casework.retention import erase_expired

    with session_scope() as session:
        return erase_expired(
            session, retention_days=current_app.config["RETENTION_DAYS"], delete_file=delete_media_file
        )


def refresh_compliance_release() -> int:
    """Recompute the public compliance release and share it with web processes through Redis."""
    from app.compliance_cache import refresh_release

    return refresh_release()
