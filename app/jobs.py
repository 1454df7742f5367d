"""RQ entry points. Each takes ids, opens its own transaction, and is idempotent, so the
sweeper or a retry can run it again safely. Failures propagate to RQ (retry, then the
FailedJobRegistry); nothing is swallowed here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import requests
from flask import current_app
from sqlmodel import Session, col, select

from app.db import session_scope
from app.queues import enqueue_after_commit, ensure_enqueued
from casework.alerts import ALERT_KINDS, alert_payload, alert_recorded, raise_urgent_alert
from casework.audit import record_event
from casework.intake import IntakeServices, process_inbound
from casework.models import (
    Case,
    CaseEvent,
    CaseStatus,
    DeliveryStatus,
    Direction,
    Message,
    ProcessingState,
    Reporter,
    utcnow,
)
from casework.outbox import record_delivery_status
from casework.routing import current_rules, route_case
from casework.sla import escalate_overdue, load_sla_policy, set_deadlines
from casework.triage import apply_triage, load_lexicon
from channels.twilio.sender import PermanentSendError, TwilioSettings, send_message

log = logging.getLogger(__name__)


def intake_services() -> IntakeServices:
    return IntakeServices(working_language=current_app.config["WORKING_LANGUAGE"], steps=casework_steps())


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
            enqueue_after_commit(session, "outbound", "app.jobs.send_staff_alert", case.id, "urgent",
                                 job_id=f"alert-urgent-{case.id}")

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
            enqueue_after_commit(session, "outbound", "app.jobs.send_staff_alert", case_id, "sla_escalation",
                                 job_id=f"alert-sla_escalation-{case_id}")
        since = utcnow() - timedelta(days=2)
        raised = session.exec(select(CaseEvent.case_id, CaseEvent.detail).where(
            CaseEvent.action == "alert_raised", col(CaseEvent.created_at) >= since)).all()
        unsent = [(cid, d.get("kind", "urgent")) for cid, d in raised
                  if cid is not None and not alert_recorded(session, cid, "alert_sent", d.get("kind", "urgent"))]
    for case_id, kind in unsent:
        ensure_enqueued("outbound", "app.jobs.send_staff_alert", case_id, kind, job_id=f"alert-{kind}-{case_id}")
    return {"escalated": len(escalated), "alerts_requeued": len(unsent)}


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
