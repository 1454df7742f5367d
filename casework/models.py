"""Every table of Tulay.

Personal data (contacts, names, message text, notes) uses `EncryptedText`; anything that
must be found by a personal value is found through a keyed hash column. The JSON API's shapes
are declared with its routes (`app/api/cases.py`) and in its OpenAPI document.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, Numeric, String, Text, UniqueConstraint, event
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from casework.privacy import EncryptedText


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _secret() -> Any:
    return Field(default=None, sa_type=EncryptedText, nullable=True)


def _code(length: int = 32, default: str | None = None, index: bool = False, nullable: bool = True) -> Any:
    return Field(default=default, sa_type=String(length), index=index, nullable=nullable)


class Role(StrEnum):
    ADMIN = "admin"
    OMBUDSPERSON = "ombudsperson"
    MEDIATOR = "mediator"
    ANALYST = "analyst"


class ChannelKind(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    WEB = "web"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ProcessingState(StrEnum):
    """Where an inbound message is in the intake pipeline."""

    RECEIVED = "received"
    PROCESSED = "processed"


class DeliveryStatus(StrEnum):
    """Outbound lifecycle: ours (queued/sending/suppressed) then Twilio's statuses."""

    QUEUED = "queued"
    SENDING = "sending"
    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # reporter opted out or has no contact; never sent
    HELD = "held"  # WhatsApp outside the 24-hour window: sent when the reporter next writes


class CaseStatus(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    ASSIGNED = "assigned"
    INVESTIGATING = "investigating"
    IN_MEDIATION = "in_mediation"
    REFERRED = "referred"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Category(StrEnum):
    WAGE_THEFT = "wage_theft"
    DOCUMENT_CONFISCATION = "document_confiscation"
    RECRUITMENT_FEES = "recruitment_fees"
    CONTRACT_SUBSTITUTION = "contract_substitution"
    UNSAFE_WORK = "unsafe_work"
    HARASSMENT_VIOLENCE = "harassment_violence"
    FORCED_LABOUR = "forced_labour"
    HOUSING = "housing"
    OTHER = "other"


class Urgency(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"  # danger to life or liberty: ombudsperson at once, with an alert


URGENCY_RANK = {Urgency.CRITICAL: 0, Urgency.HIGH: 1, Urgency.NORMAL: 2, Urgency.LOW: 3}
QUEUE_RANK_DEFAULT = 10 + URGENCY_RANK[Urgency.NORMAL]


class Route(StrEnum):
    OMBUDSPERSON = "ombudsperson"
    MEDIATION = "mediation"


# --- staff -----------------------------------------------------------------------------------


def new_session_nonce() -> str:
    return secrets.token_urlsafe(32)


class StaffUserBase(SQLModel):
    email: str = Field(sa_type=String(254), unique=True, index=True)
    display_name: str = Field(default="", sa_type=String(120))
    role: Role = Field(sa_type=String(16))
    languages: list[str] = Field(default_factory=list, sa_type=JSON)
    team: str | None = _code(64)
    is_supervisor: bool = False
    active: bool = True


class StaffUser(StaffUserBase, table=True):
    __tablename__ = "staff_user"
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(sa_type=String(255))
    totp_secret: str | None = _secret()
    # The last TOTP time step (Unix time // 30) accepted for this user, at sign-in or enrolment:
    # a code of that step or an earlier one is refused, so no code works twice.
    totp_last_step: int | None = Field(default=None, sa_type=Integer, nullable=True)
    # Every console session carries this value; a new one ends them all (sign-out, a new
    # password, deactivation).
    session_nonce: str = Field(default_factory=new_session_nonce, sa_type=String(64), nullable=False)
    failed_logins: int = 0
    locked_until: datetime | None = _ts()
    last_login_at: datetime | None = _ts()
    created_at: datetime = _created()
    # IANA name (Asia/Manila) the console shows times in; None: the configured default (UTC).
    time_zone: str | None = _code(64)
    # Our language code (es, ar, tl) the console speaks to this user in; None: WORKING_LANGUAGE.
    interface_language: str | None = _code(8)


@event.listens_for(StaffUser.password_hash, "set")
@event.listens_for(StaffUser.active, "set")
def _end_sessions_on_credential_change(target: StaffUser, value: Any, oldvalue: Any, _initiator: Any) -> None:
    """A new password or a change of `active` ends every console session of the account.

    Whatever code sets them (console, CLI, a script), the cookies signed with the old nonce stop
    working at the next request.
    """
    if value != oldvalue:
        target.session_nonce = new_session_nonce()


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(sa_type=String(64), unique=True, index=True)
    created_at: datetime = _created()
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()


class PasswordReset(SQLModel, table=True):
    """A one-time password-reset link: only the SHA-256 of its 256-bit token is kept."""

    __tablename__ = "password_reset"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(sa_type=String(64), unique=True, index=True)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = _ts()


# --- reporters, cases, messages ----------------------------------------------------------------


class Reporter(SQLModel, table=True):
    """A person who reports. Anonymous web reporters have no contact at all."""

    id: int | None = Field(default=None, primary_key=True)
    contact_hash: str | None = Field(default=None, sa_type=String(64), unique=True, index=True)
    contact: str | None = _secret()  # E.164 number, encrypted
    contact_channel: ChannelKind | None = _code(16)  # sms or whatsapp, as a web reporter chose
    name: str | None = _secret()
    language: str | None = _code(8)
    opted_out: bool = False
    opted_out_at: datetime | None = _ts()
    last_inbound_at: datetime | None = _ts()  # opens WhatsApp's 24-hour free-form window
    created_at: datetime = _created()
    erased_at: datetime | None = _ts()


class CaseBase(SQLModel):
    reference: str = Field(sa_type=String(16), unique=True, index=True)
    status: CaseStatus = Field(default=CaseStatus.NEW, sa_type=String(16), index=True)
    category: Category | None = _code(32, index=True)
    category_confidence: float | None = None
    urgency: Urgency = Field(default=Urgency.NORMAL, sa_type=String(16), index=True)
    route: Route | None = _code(16, index=True)
    team: str | None = _code(64)
    country: str | None = _code(2)  # ISO 3166-1 alpha-2 of the country of work
    sector: str | None = _code(32)
    channel: ChannelKind = Field(sa_type=String(16))
    language: str | None = _code(8, index=True)
    needs_human_translation: bool = Field(default=False, index=True)
    # Triage had nothing to go on (or can't read the language): a person triages it, first.
    needs_human_triage: bool = Field(default=False, index=True)


_CASE_VERSION = Column("version", Integer, nullable=False)


class Case(CaseBase, table=True):
    __table_args__ = (
        Index("ix_case_assignee_status", "assignee_id", "status"),
        Index("ix_case_country", "country"),
        Index("ix_case_sector", "sector"),
        Index("ix_case_queue_order", "queue_rank", "queue_due_at", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    reporter_id: int = Field(foreign_key="reporter.id", index=True)
    assignee_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    pin_hash: str | None = Field(default=None, sa_type=String(255))
    pin_failures: int = 0
    pin_locked_until: datetime | None = _ts()
    employer_name: str | None = _secret()
    employer_pseudonym: str | None = _code(64, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    updated_at: datetime = _created()
    recruiter_name: str | None = _secret()
    first_response_due_at: datetime | None = _ts(index=True)
    first_response_at: datetime | None = _ts()
    resolution_due_at: datetime | None = _ts(index=True)
    resolved_at: datetime | None = _ts()
    closed_at: datetime | None = _ts(index=True)
    escalated_at: datetime | None = _ts()
    erased_at: datetime | None = _ts()
    # When the anonymized compliance record was last written (the sweeper finds closed cases
    # without one); it says nothing about which record, which only a keyed hash finds.
    compliance_recorded_at: datetime | None = _ts()
    # When the reporter last wrote again on this case; cleared when its assignee opens the case.
    reporter_wrote_back_at: datetime | None = _ts(index=True)
    # The queue's default order, kept by `_queue_keys` on every ORM write so that one index
    # serves it: rank 0-3 needs a person's triage (critical … low), 10-13 the others; the
    # deadline still running soonest (first response, else resolution; None when no clock runs).
    queue_rank: int = Field(default=QUEUE_RANK_DEFAULT, sa_type=Integer, nullable=False)
    queue_due_at: datetime | None = _ts()
    # Optimistic concurrency: a stale edit (two staff at once) raises StaleDataError
    # instead of silently overwriting the other person's change.
    version: int = Field(default=1, sa_column=_CASE_VERSION)

    __mapper_args__ = {"version_id_col": _CASE_VERSION}


_CLOCK_STOPPED = {CaseStatus.CLOSED}  # no first-response clock
_RESOLUTION_STOPPED = {CaseStatus.RESOLVED, CaseStatus.CLOSED}


def queue_keys(case: Case) -> tuple[int, datetime | None]:
    """(queue_rank, queue_due_at) for `case`, from its triage flag, urgency, status and clocks."""
    rank = URGENCY_RANK.get(Urgency(case.urgency), len(URGENCY_RANK)) if case.urgency else len(URGENCY_RANK)
    pending = []
    if case.status not in _CLOCK_STOPPED and case.first_response_at is None and case.first_response_due_at:
        pending.append(case.first_response_due_at)
    if case.status not in _RESOLUTION_STOPPED and case.resolution_due_at:
        pending.append(case.resolution_due_at)
    return (rank if case.needs_human_triage else 10 + rank), (min(pending) if pending else None)


@event.listens_for(Case, "before_insert")
@event.listens_for(Case, "before_update")
def _queue_keys(_mapper: Any, _connection: Any, target: Case) -> None:
    target.queue_rank, target.queue_due_at = queue_keys(target)


class Message(SQLModel, table=True):
    """One message in either direction. Inbound rows are durable before Twilio gets a 2xx."""

    __table_args__ = (
        UniqueConstraint("channel", "provider_id", name="uq_message_channel_provider_id"),
        Index("ix_message_case_created", "case_id", "created_at"),
        Index("ix_message_processing", "processing_state", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case.id")
    reporter_id: int | None = Field(default=None, foreign_key="reporter.id", index=True)
    direction: Direction = Field(sa_type=String(8))
    channel: ChannelKind = Field(sa_type=String(16))
    provider_id: str | None = _code(64)  # Twilio MessageSid, inbound or outbound
    kind: str = Field(default="message", sa_type=String(32))  # message, ack, reply, keyword, alert…
    body: str | None = _secret()
    language: str | None = _code(8)
    language_confidence: float | None = None
    translation: str | None = _secret()
    translation_language: str | None = _code(8)
    translation_engine: str | None = _code(64)
    translation_model_version: str | None = _code(64)
    translation_pivot: str | None = _code(8)
    needs_human_translation: bool = False
    translation_corrected_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    translation_corrected_at: datetime | None = _ts()
    processing_state: ProcessingState | None = _code(16)
    processed_at: datetime | None = _ts()
    delivery_status: DeliveryStatus | None = _code(16, index=True)
    delivery_error_code: str | None = _code(16)
    send_attempts: int = 0
    segments: int | None = None
    author_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = _created()
    sent_at: datetime | None = _ts()
    delivered_at: datetime | None = _ts()


class MediaAttachment(SQLModel, table=True):
    __tablename__ = "media_attachment"
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True, ondelete="CASCADE")
    url: str | None = _secret()  # provider URL; may identify the sender's account
    content_type: str = Field(sa_type=String(128))
    stored_path: str | None = Field(default=None, sa_type=String(512))
    size_bytes: int | None = None
    fetched_at: datetime | None = _ts()
    created_at: datetime = _created()


class ContactVerification(SQLModel, table=True):
    """A phone number typed into the web form, waiting for its owner to prove it.

    Until the code sent to it is entered on /status the number links to nothing and nothing but
    the code is sent to it; `Reporter.contact` holds only numbers proven this way or by the
    carrier (SMS/WhatsApp senders).
    """

    __tablename__ = "contact_verification"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True, ondelete="CASCADE")
    contact: str | None = _secret()  # E.164 number, encrypted; cleared once verified or erased
    contact_channel: ChannelKind = Field(sa_type=String(16))  # how the reporter wants replies
    code_hash: str | None = Field(default=None, sa_type=String(255))
    code_expires_at: datetime | None = _ts()
    code_sends: int = 0
    failed_attempts: int = 0
    verified_at: datetime | None = _ts()
    created_at: datetime = _created()


class Note(SQLModel, table=True):
    """An internal staff note on a case (never shown to the reporter)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    author_id: int = Field(foreign_key="staff_user.id")
    body: str | None = _secret()
    created_at: datetime = _created()


class TriageFinding(SQLModel, table=True):
    """A danger indicator triage found in a message, with the words that showed it (encrypted)."""

    __tablename__ = "triage_finding"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True, ondelete="CASCADE")
    message_id: int = Field(foreign_key="message.id", index=True, ondelete="CASCADE")
    indicator: str = Field(sa_type=String(40))
    phrase: str | None = _secret()  # the reporter's words; erased with the case's other text
    source: str = Field(sa_type=String(16))  # original | translation
    created_at: datetime = _created()


class CaseEvent(SQLModel, table=True):
    """Append-only audit log: every view and change of a case. Updates and deletes are refused
    by database triggers (see the initial migration), not only by code."""

    __tablename__ = "case_event"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    actor_kind: str = Field(default="system", sa_type=String(16))  # staff, reporter, system
    action: str = Field(sa_type=String(48), index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # never personal data
    created_at: datetime = _created()


class MediationSession(SQLModel, table=True):
    __tablename__ = "mediation_session"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    mediator_id: int | None = Field(default=None, foreign_key="staff_user.id")
    scheduled_at: datetime | None = _ts()
    held_at: datetime | None = _ts()
    parties: str | None = _secret()
    notes: str | None = _secret()
    result: str | None = _code(32)  # agreement, partial_agreement, no_agreement, adjourned, no_show
    follow_up_on: date | None = None  # when the mediator checks the agreement is kept
    created_at: datetime = _created()


class RemedyLine(SQLModel, table=True):
    """One term of what is owed to the worker: a remedy, its amount, who pays and by when; set
    by a mediation agreement. Holds no personal data (codes, amounts, dates)."""

    __tablename__ = "remedy_line"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True, ondelete="CASCADE")
    mediation_session_id: int | None = Field(default=None, foreign_key="mediation_session.id", index=True)
    remedy: str = Field(sa_type=String(32))  # one of casework.mediation.REMEDIES
    amount: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    currency: str | None = _code(3)  # ISO 4217
    payer: str = Field(sa_type=String(32))  # employer, recruitment_agency, other
    due_on: date | None = None
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = _created()


class Outcome(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    resolution_type: str = Field(sa_type=String(32))  # remedied, partially_remedied, not_remedied, referred, withdrawn…
    remedies: list[str] = Field(default_factory=list, sa_type=JSON)  # wages_paid, documents_returned, fees_refunded…
    amount_recovered: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    currency: str | None = _code(3)  # ISO 4217
    inspection_requested: bool = False
    sanction_reported: bool = False
    recorded_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = _created()


class RoutingRuleSet(SQLModel, table=True):
    """One saved version of the routing rules (YAML text); the newest row is in force.

    Kept in the database, not only in a file, so every web and worker machine routes by the
    same rules as soon as an admin saves them.
    """

    __tablename__ = "routing_rule_set"
    id: int | None = Field(default=None, primary_key=True)
    body: str = Field(sa_type=Text)
    saved_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = _created()


class ComplianceRecord(SQLModel, table=True):
    """Anonymized outcome of one closed case: no identifiers, no free text, generalized values."""

    __tablename__ = "compliance_record"
    id: int | None = Field(default=None, primary_key=True)
    # Keyed hash of the case id: makes anonymization idempotent without a link anyone can follow.
    source_key: str = Field(sa_type=String(64), unique=True)
    opened_month: str = Field(sa_type=String(7), index=True)  # YYYY-MM
    closed_month: str = Field(sa_type=String(7), index=True)
    category: str = Field(sa_type=String(32), index=True)
    urgency: str = Field(sa_type=String(16))
    route: str | None = _code(16)
    channel: str = Field(sa_type=String(16))
    language_group: str | None = _code(32)
    country: str | None = _code(2, index=True)
    sector: str | None = _code(32)
    resolution_type: str | None = _code(32)
    remedies: list[str] = Field(default_factory=list, sa_type=JSON)
    amount_band: str | None = _code(32)
    currency: str | None = _code(3)
    days_to_first_response_band: str | None = _code(16)
    days_to_remedy_band: str | None = _code(16)
    case_age_band: str | None = _code(16)
    inspection_requested: bool = False
    sanction_reported: bool = False
    employer_pseudonym: str | None = _code(64)
    created_at: datetime = _created()


class EmployerDisclosure(SQLModel, table=True):
    """An employer or recruiter an admin has marked publishable by name (e.g. already sanctioned)."""

    __tablename__ = "employer_disclosure"
    id: int | None = Field(default=None, primary_key=True)
    employer_pseudonym: str = Field(sa_type=String(64), unique=True)
    public_name: str = Field(sa_type=String(200))
    reason: str = Field(sa_type=String(200))
    approved_by_id: int = Field(foreign_key="staff_user.id")
    created_at: datetime = _created()


# --- staff notifications -------------------------------------------------------------------------


class StaffNotification(SQLModel, table=True):
    """Something a staff member should know about a case; holds codes and ids, never personal data.

    One row per (recipient, kind, case, triggering event): `event_key` names the event (an audit
    event's id, a message's id, an SLA clock), so a job that runs twice notifies once.
    """

    __tablename__ = "staff_notification"
    __table_args__ = (
        UniqueConstraint("recipient_id", "kind", "case_id", "event_key", name="uq_staff_notification_event"),
        Index("ix_staff_notification_recipient_read", "recipient_id", "read_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    recipient_id: int = Field(foreign_key="staff_user.id", ondelete="CASCADE")
    kind: str = Field(sa_type=String(32))
    case_id: int = Field(foreign_key="case.id", index=True, ondelete="CASCADE")
    event_key: str = Field(sa_type=String(64))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    read_at: datetime | None = _ts()
    emailed_at: datetime | None = _ts()
