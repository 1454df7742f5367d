"""Every code the pages show (status, urgency, category, remedy…) named in the reader's language.

One table for the console and the public dashboard, so a code reads the same on both and a new
code is translated once. A code without a name shows as itself, spaces for underscores.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from casework.texts import SECTOR_TEXTS

LABELS: dict[str, Any] = {
    # categories
    "wage_theft": _l("Wage theft"),
    "document_confiscation": _l("Document confiscation"),
    "recruitment_fees": _l("Recruitment fees or debt"),
    "contract_substitution": _l("Contract substitution"),
    "unsafe_work": _l("Unsafe work or injury"),
    "harassment_violence": _l("Harassment or violence"),
    "forced_labour": _l("Forced labour indicators"),
    "housing": _l("Housing"),
    "other": _l("Other"),
    # channels
    "sms": _l("SMS"),
    "whatsapp": _l("WhatsApp"),
    "web": _l("Web form"),
    # case statuses
    "new": _l("New"),
    "triaged": _l("Triaged"),
    "assigned": _l("Assigned"),
    "investigating": _l("Investigating"),
    "in_mediation": _l("In mediation"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
    # urgencies
    "critical": _l("Critical"),
    "high": _l("High"),
    "normal": _l("Normal"),
    "low": _l("Low"),
    # routes and roles
    "ombudsperson": _l("Ombudsperson"),
    "mediation": _l("Mediation"),
    "admin": _l("Administrator"),
    "mediator": _l("Mediator"),
    "analyst": _l("Analyst"),
    # resolutions
    "remedied": _l("Remedied"),
    "partially_remedied": _l("Partly remedied"),
    "not_remedied": _l("Not remedied"),
    "referred": _l("Referred"),
    "withdrawn": _l("Withdrawn"),
    "no_jurisdiction": _l("Outside our remit"),
    "unreachable": _l("Reporter unreachable"),
    # remedies
    "wages_paid": _l("Wages paid"),
    "documents_returned": _l("Documents returned"),
    "fees_refunded": _l("Fees refunded"),
    "contract_honoured": _l("Contract honoured"),
    "compensation_paid": _l("Compensation paid"),
    "repatriation_paid": _l("Journey home paid"),
    "reinstated": _l("Reinstated in the job"),
    "housing_improved": _l("Housing improved"),
    "safety_improved": _l("Safety improved"),
    "apology": _l("Apology"),
    # mediation results and who pays
    "agreement": _l("Agreement"),
    "partial_agreement": _l("Partial agreement"),
    "no_agreement": _l("No agreement"),
    "adjourned": _l("Adjourned"),
    "no_show": _l("A party did not come"),
    "employer": _l("Employer"),
    "recruitment_agency": _l("Recruitment agency"),
    # message delivery
    "queued": _l("Queued"),
    "sending": _l("Sending"),
    "accepted": _l("Accepted by the provider"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "read": _l("Read"),
    "undelivered": _l("Not delivered"),
    "failed": _l("Failed"),
    "suppressed": _l("Not sent (no contact or opted out)"),
    "held": _l("Held until the reporter writes"),
    # dashboard
    "not_published": _l("Not published (too few cases)"),
    "yes": _l("Yes"),
    "no": _l("No"),
    "0": _l("Same day"),
    "1_2": _l("1 to 2 days"),
    "3_7": _l("3 to 7 days"),
    "8_30": _l("8 to 30 days"),
    "31_plus": _l("More than 30 days"),
    "0_29": _l("Under 30 days"),
    "30_89": _l("30 to 89 days"),
    "90_179": _l("90 to 179 days"),
    "180_364": _l("180 to 364 days"),
    "365_plus": _l("A year or more"),
}

# What happened to a case, as its history and audit trail read (the code is the audit action).
EVENT_LABELS: dict[str, Any] = {
    "alert_raised": _l("alert raised"),
    "alert_sent": _l("alert sent"),
    "attachment_viewed": _l("attachment viewed"),
    "audit_viewed": _l("audit viewed"),
    "case_assigned": _l("case assigned"),
    "case_opened": _l("case opened"),
    "case_transferred": _l("case transferred"),
    "case_viewed": _l("case viewed"),
    "closed_without_reply": _l("closed without reply"),
    "contact_code_refused": _l("contact code refused"),
    "contact_code_sent": _l("contact code sent"),
    "contact_verified": _l("contact verified"),
    "employer_disclosed": _l("employer disclosed"),
    "keyword_received": _l("keyword received"),
    "mediation_result": _l("mediation result"),
    "mediation_result_amended": _l("mediation result amended"),
    "mediation_scheduled": _l("mediation scheduled"),
    "message_received": _l("message received"),
    "message_translated": _l("message translated"),
    "note_added": _l("note added"),
    "outcome_corrected": _l("outcome corrected"),
    "outcome_recorded": _l("outcome recorded"),
    "personal_data_erased": _l("personal data erased"),
    "referred_to_inspection": _l("referred to inspection"),
    "referred_to_mediation": _l("referred to mediation"),
    "reply_queued": _l("reply queued"),
    "reporter_opted_out": _l("reporter opted out"),
    "routed": _l("routed"),
    "routing_rules_saved": _l("routing rules saved"),
    "sla_escalated": _l("sla escalated"),
    "status_changed": _l("status changed"),
    "status_pin_refused": _l("status pin refused"),
    "status_viewed": _l("status viewed"),
    "translation_corrected": _l("translation corrected"),
    "triage_confirmed": _l("triage confirmed"),
    "triage_overridden": _l("triage overridden"),
    "triaged": _l("triaged"),
    "staff_api_token_revoked": _l("staff api token revoked"),
    "staff_deactivated": _l("staff deactivated"),
    "staff_password_changed": _l("staff password changed"),
    "staff_password_reset_completed": _l("staff password reset completed"),
    "staff_password_reset_issued": _l("staff password reset issued"),
    "staff_reactivated": _l("staff reactivated"),
    "staff_role_changed": _l("staff role changed"),
    "staff_totp_reset": _l("staff totp reset"),
}


def code_label(code: object) -> str:
    """`code`'s name in the page's language; an unknown code as itself, readable."""
    if code is None or code == "":
        return "—"
    key = str(code)
    name = LABELS.get(key)
    return str(name) if name is not None else key.replace("_", " ")


def event_label(action: str) -> str:
    name = EVENT_LABELS.get(action)
    return str(name) if name is not None else action.replace("_", " ")


def sector_label(code: object) -> str:
    if not code:
        return "—"
    key = str(code)
    return gettext(SECTOR_TEXTS[key]) if key in SECTOR_TEXTS else key.replace("_", " ")


def init_app(app: Flask) -> None:
    app.add_template_filter(code_label, "label")
    app.add_template_filter(sector_label, "sector_label")
    app.add_template_filter(event_label, "event_label")
