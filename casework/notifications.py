"""Staff notifications: who must know that something happened on a case, and their inbox.

A notification is written in the transaction of the event that causes it (an assignment, a
reporter's follow-up, an SLA clock nearing or missed, a human translation), so it commits or
rolls back with it. It holds codes and ids only: the kind, the case, the recipient. One row per
(recipient, kind, case, triggering event): `event_key` names the event, so the periodic SLA
check or a retried job that runs again notifies nobody twice. The e-mail (if the deployment
has SMTP) is the app's job; `email_text` says what it may say: the kind in words, the case
reference and a link, never the reporter's words, number or name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from casework.editing import CaseworkError
from casework.models import Case, Message, Role, StaffNotification, StaffUser, utcnow
from casework.texts import N_

# kind -> what it says, in words (the inbox, in each reader's language, and the e-mail).
KINDS = {
    "assigned": N_("A case was assigned to you"),
    "reporter_follow_up": N_("The reporter wrote again"),
    "sla_nearing": N_("A case is close to missing its deadline"),
    "sla_breached": N_("A case missed its deadline"),
    "translation_done": N_("A human translation was saved"),
}
INBOX_LIMIT = 200


class NotificationNotFound(CaseworkError):
    """No notification with that id for this user (another user's does not exist for them)."""


def ombudsperson_ids(session: Session) -> list[int]:
    """Active ombudspersons: who hears about a case nobody holds, and about every missed deadline."""
    statement = select(StaffUser.id).where(
        StaffUser.role == Role.OMBUDSPERSON,
        col(StaffUser.active).is_(True),
    )
    return [user_id for user_id in session.exec(statement.order_by(col(StaffUser.id))).all() if user_id is not None]


def _active(session: Session, user_ids: Iterable[int | None]) -> list[int]:
    wanted = sorted({user_id for user_id in user_ids if user_id is not None})
    if not wanted:
        return []
    statement = select(StaffUser.id).where(col(StaffUser.id).in_(wanted), col(StaffUser.active).is_(True))
    return sorted(user_id for user_id in session.exec(statement).all() if user_id is not None)


def notify(
    session: Session,
    *,
    kind: str,
    case: Case,
    event_key: str,
    recipients: Iterable[int | None],
    actor_id: int | None = None,
) -> list[StaffNotification]:
    """Notify each active recipient (never the actor who caused it) of `kind` on `case`, once.

    Idempotent: a recipient already notified of this (kind, case, event_key) gets nothing new.
    Returns the new rows. Does not commit.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    assert case.id is not None
    targets = [user_id for user_id in _active(session, recipients) if user_id != actor_id]
    if not targets:
        return []
    already = set(
        session.exec(
            select(StaffNotification.recipient_id).where(
                StaffNotification.kind == kind,
                StaffNotification.case_id == case.id,
                StaffNotification.event_key == event_key,
                col(StaffNotification.recipient_id).in_(targets),
            )
        ).all()
    )
    created = []
    for user_id in targets:
        if user_id in already:
            continue
        row = StaffNotification(recipient_id=user_id, kind=kind, case_id=case.id, event_key=event_key)
        session.add(row)
        created.append(row)
    return created


def holder_or_ombudspersons(session: Session, case: Case) -> list[int]:
    """The case's assignee, or every active ombudsperson when nobody holds it."""
    return [case.assignee_id] if case.assignee_id is not None else ombudsperson_ids(session)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S%f")


def notify_assigned(session: Session, case: Case, *, actor_id: int | None, moment: datetime) -> None:
    """The new assignee hears of it (not when they took the case themselves)."""
    notify(
        session,
        kind="assigned",
        case=case,
        event_key=f"assigned-{case.assignee_id}-{_stamp(moment)}",
        recipients=[case.assignee_id],
        actor_id=actor_id,
    )


def notify_follow_up(session: Session, case: Case, message: Message) -> None:
    """A reporter wrote again on an existing case: its assignee, or the ombudspersons, hear of it."""
    notify(
        session,
        kind="reporter_follow_up",
        case=case,
        event_key=f"message-{message.id}",
        recipients=holder_or_ombudspersons(session, case),
    )


def notify_translation_done(session: Session, case: Case, message: Message, *, actor_id: int | None) -> None:
    """A human translation of a message was saved: the assignee (unless they wrote it) hears of it."""
    moment = message.translation_corrected_at or utcnow()
    notify(
        session,
        kind="translation_done",
        case=case,
        event_key=f"translation-{message.id}-{_stamp(moment)}",
        recipients=[case.assignee_id],
        actor_id=actor_id,
    )


def notify_sla(session: Session, case: Case, *, clock: str, breached: bool) -> list[StaffNotification]:
    """A clock (first_response, resolution) is nearing or missed; once per case and clock.

    Nearing: the assignee, or the ombudspersons when nobody holds the case. Missed: the
    assignee and the ombudspersons.
    """
    holders: list[int | None] = [case.assignee_id] if case.assignee_id is not None else []
    recipients = [*holders, *ombudsperson_ids(session)] if breached or not holders else holders
    kind = "sla_breached" if breached else "sla_nearing"
    return notify(session, kind=kind, case=case, event_key=clock, recipients=recipients)


# --- the inbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxItem:
    id: int
    kind: str
    words: str
    reference: str
    created_at: datetime
    read_at: datetime | None


def inbox(session: Session, user_id: int, limit: int = INBOX_LIMIT) -> list[InboxItem]:
    """The user's own notifications, newest first."""
    statement = (
        select(StaffNotification, Case.reference)
        .join(Case, col(Case.id) == col(StaffNotification.case_id))
        .where(StaffNotification.recipient_id == user_id)
        .order_by(col(StaffNotification.created_at).desc(), col(StaffNotification.id).desc())
        .limit(limit)
    )
    return [
        InboxItem(
            id=row.id or 0,
            kind=row.kind,
            words=KINDS.get(row.kind, row.kind),
            reference=reference,
            created_at=row.created_at,
            read_at=row.read_at,
        )
        for row, reference in session.exec(statement).all()
    ]


def unread_count(session: Session, user_id: int) -> int:
    statement = select(func.count()).where(
        StaffNotification.recipient_id == user_id, col(StaffNotification.read_at).is_(None)
    )
    return int(session.exec(statement).one())


def mark_read(session: Session, user_id: int, notification_id: int) -> StaffNotification:
    """Mark one of the user's notifications read; NotificationNotFound for anyone else's. Does not commit."""
    row = session.get(StaffNotification, notification_id)
    if row is None or row.recipient_id != user_id:
        raise NotificationNotFound(f"no notification {notification_id}")
    if row.read_at is None:
        row.read_at = utcnow()
        session.add(row)
    return row


def mark_all_read(session: Session, user_id: int) -> int:
    """Mark every unread notification of the user read; returns how many. Does not commit."""
    rows = session.exec(
        select(StaffNotification).where(
            StaffNotification.recipient_id == user_id, col(StaffNotification.read_at).is_(None)
        )
    ).all()
    moment = utcnow()
    for row in rows:
        row.read_at = moment
        session.add(row)
    return len(rows)


# --- e-mail ------------------------------------------------------------------------------------

EMAIL_SWEEP_BATCH = 5000


def email_text(kind: str, reference: str, base_url: str) -> tuple[str, str]:
    """(subject, body) of a notification e-mail: the kind in words, the case reference and links only."""
    words = KINDS.get(kind, "Something happened on a case")
    base = base_url.rstrip("/")
    subject = f"Tulay: {words} ({reference})"
    body = (
        f"{words}: case {reference}.\n\n"
        f"Open the case: {base}/console/cases/{reference}\n"
        f"Your notifications: {base}/console/inbox\n\n"
        "This message holds no case details; sign in to the console to read them.\n"
    )
    return subject, body


def unemailed_ids(
    session: Session, *, created_before: datetime, created_after: datetime, limit: int = EMAIL_SWEEP_BATCH
) -> list[int]:
    """Notifications of active staff, created in the window and never e-mailed (the sweeper's)."""
    statement = (
        select(StaffNotification.id)
        .join(StaffUser, col(StaffUser.id) == col(StaffNotification.recipient_id))
        .where(
            col(StaffNotification.emailed_at).is_(None),
            col(StaffNotification.created_at) < created_before,
            col(StaffNotification.created_at) >= created_after,
            col(StaffUser.active).is_(True),
        )
        .order_by(col(StaffNotification.id))
        .limit(limit)
    )
    return [i for i in session.exec(statement).all() if i is not None]
