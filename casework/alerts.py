"""Staff alerts: an urgent (critical) case, or an SLA escalation, must reach on-duty staff now.

The domain records that an alert is due (an audit event, in the caller's transaction); the
app's job delivers it and records that it was sent. Payloads carry no personal data: the
case reference, codes and a console link only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.models import Case, CaseEvent

ALERT_KINDS = ("urgent", "sla_escalation")


def alert_recorded(session: Session, case_id: int, action: str, kind: str) -> bool:
    statement = select(CaseEvent.detail).where(CaseEvent.case_id == case_id, CaseEvent.action == action)
    return any(detail.get("kind") == kind for detail in session.exec(statement).all())


def raise_urgent_alert(session: Session, case: Case) -> bool:
    """Record that `case` needs an urgent alert; False (nothing recorded) if one was raised already."""
    assert case.id is not None
    if alert_recorded(session, case.id, "alert_raised", "urgent"):
        return False
    record_event(session, action="alert_raised", case_id=case.id, kind="urgent", urgency=case.urgency)
    return True


def alert_payload(case: Case, kind: str, console_base_url: str) -> dict[str, Any]:
    """What an alert says: codes and a link, never the reporter's words, number or name."""
    return {
        "kind": kind,
        "reference": case.reference,
        "urgency": str(case.urgency),
        "category": None if case.category is None else str(case.category),
        "route": None if case.route is None else str(case.route),
        "team": case.team,
        "status": str(case.status),
        "assignee_id": case.assignee_id,
        "url": f"{console_base_url.rstrip('/')}/console/cases/{case.reference}",
    }


def unsent_alerts(session: Session, *, raised_after: datetime) -> list[tuple[int, str]]:
    """(case id, kind) of alerts raised since `raised_after` that were never recorded as sent."""
    statement = select(CaseEvent.case_id, CaseEvent.detail).where(
        CaseEvent.action == "alert_raised", col(CaseEvent.created_at) >= raised_after
    )
    raised = [(case_id, (detail or {}).get("kind", "urgent")) for case_id, detail in session.exec(statement).all()]
    return [
        (case_id, kind)
        for case_id, kind in raised
        if case_id is not None and not alert_recorded(session, case_id, "alert_sent", kind)
    ]
