"""The append-only audit log: one `CaseEvent` per view or change of a case.

Callers own the transaction, so an event commits or rolls back with the change it records.
Details must never hold personal data: ids, states, field names and codes only.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from casework.models import CaseEvent


def record_event(
    session: Session,
    *,
    action: str,
    case_id: int | None = None,
    actor_id: int | None = None,
    actor_kind: str = "system",
    **detail: Any,
) -> CaseEvent:
    event = CaseEvent(case_id=case_id, actor_id=actor_id, actor_kind=actor_kind, action=action, detail=detail)
    session.add(event)
    return event
