"""Case endpoints of the JSON API: queue, case view, reply, assign, transition, refer, notes,
mediation sessions, outcome, triage override, audit trail, and the routing rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any

from flask import Flask, abort, current_app, jsonify, request
from sqlalchemy.orm.exc import StaleDataError

from app.api import api_user, bp, token_required
from app.api.attachments import attachment_shape
from app.api.openapi import add_paths
from app.db import get_session
from app.mt import get_translator
from casework import cases as case_states
from casework import worklist
from casework.access import (
    ALL_CASES_ROLES,
    CASE_ROLES,
    REFERRAL_ROLES,
    ActionNotAllowed,
    CaseAccessDenied,
    require_case_access,
)
from casework.attachments import case_attachments
from casework.audit import record_event
from casework.editing import CaseClosed, CaseworkError, StaleCase, check_editable, check_version
from casework.mediation import (
    MEDIATION_RESULTS,
    PAYERS,
    REMEDIES,
    RemedyTerm,
    amend_mediation_result,
    record_mediation_result,
    record_outcome,
    refer_to_inspection,
    refer_to_mediation,
    remedy_lines,
    schedule_mediation,
)
from casework.models import (
    Case,
    CaseStatus,
    Category,
    ChannelKind,
    MediationSession,
    Message,
    Role,
    StaffUser,
)
from casework.notes import add_note, reason_detail
from casework.replies import prepare_reply, queue_staff_reply
from casework.routing import RoutingRulesError, assign_case, current_rules_text, save_rules
from casework.translation import MessageNotFound, TranslationResult, correct_case_message
from casework.triage import confirm_triage, override_triage
from casework.triage_explain import case_findings
from casework.worklist import PHONE_PATTERN, SORTS, QueueFilters, case_history, find_case, is_overdue, list_cases


class BadRequest(CaseworkError):
    """A request field is missing or malformed."""


def status_for(exc: Exception) -> int:
    if isinstance(exc, CaseAccessDenied | MessageNotFound):
        return 404
    if isinstance(exc, ActionNotAllowed):
        return 403
    if isinstance(exc, StaleCase | CaseClosed | StaleDataError | case_states.UnansweredClose):
        return 409
    return 400


def domain_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn refused domain operations into JSON 4xx after rolling back (nothing half-stored)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except (CaseworkError, case_states.IllegalTransition, RoutingRulesError) as exc:
            get_session().rollback()
            abort(status_for(exc), description=str(exc))
        except StaleDataError:
            get_session().rollback()
            abort(409, description="the case was changed by someone else meanwhile; reload it and try again")

    return wrapped


# --- request parsing ---------------------------------------------------------------------------


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object (Content-Type: application/json)")
    return body


def text_field(body: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def int_field(body: dict[str, Any], name: str, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer")
    return value


def bool_field(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false")
    return value


def time_field(body: dict[str, Any], name: str) -> datetime:
    raw = text_field(body, name)
    try:
        value = datetime.fromisoformat(raw or "")
    except ValueError:
        raise BadRequest(
            f"{name} must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:30:00+08:00"
        ) from None
    if value.tzinfo is None:
        raise BadRequest(f"{name} needs a time zone offset (e.g. +08:00 or Z)")
    return value


def expected_version(body: dict[str, Any]) -> int | None:
    return int_field(body, "expected_version", required=False)


# --- shapes ------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def assignee_name_of(case: Case) -> str | None:
    """The display name of the case's assignee, as the API shows it (None when unassigned)."""
    assignee = get_session().get(StaffUser, case.assignee_id) if case.assignee_id else None
    return assignee.display_name if assignee else None


def case_summary(case: Case, *, assignee_name: str | None, overdue: bool | None = None) -> dict[str, Any]:
    """A case as every API answer carries it; `assignee_name` is required (`assignee_name_of`),
    so no answer can leave it out."""
    return {
        "reference": case.reference,
        "status": case.status,
        "category": case.category,
        "category_confidence": case.category_confidence,
        "urgency": case.urgency,
        "route": case.route,
        "team": case.team,
        "country": case.country,
        "sector": case.sector,
        "channel": case.channel,
        "language": case.language,
        "needs_human_translation": case.needs_human_translation,
        "needs_human_triage": case.needs_human_triage,
        "assignee_id": case.assignee_id,
        "assignee_name": assignee_name,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "first_response_due_at": _iso(case.first_response_due_at),
        "first_response_at": _iso(case.first_response_at),
        "resolution_due_at": _iso(case.resolution_due_at),
        "escalated_at": _iso(case.escalated_at),
        "closed_at": _iso(case.closed_at),
        "reporter_wrote_back_at": _iso(case.reporter_wrote_back_at),
        "overdue": is_overdue(case) if overdue is None else overdue,
        "version": case.version,
    }


def message_shape(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "kind": message.kind,
        "channel": message.channel,
        "body": message.body,
        "language": message.language,
        "translation": message.translation,
        "translation_language": message.translation_language,
        "translation_engine": message.translation_engine,
        "translation_model_version": message.translation_model_version,
        "translation_pivot": message.translation_pivot,
        "needs_human_translation": message.needs_human_translation,
        "translation_corrected_by_id": message.translation_corrected_by_id,
        "delivery_status": message.delivery_status,
        "author_id": message.author_id,
        "created_at": _iso(message.created_at),
    }


def case_detail(case: Case) -> dict[str, Any]:
    session = get_session()
    history = case_history(session, case)
    messages, notes, meetings, outcome = history.messages, history.notes, history.mediation_sessions, history.outcome
    return {
        **case_summary(case, assignee_name=assignee_name_of(case)),
        "employer_name": case.employer_name,
        "recruiter_name": case.recruiter_name,
        "messages": [message_shape(m) for m in messages],
        # The files reporters sent (listed, not inlined): each fetched from its own audited route.
        "attachments": [attachment_shape(case.reference, a) for a in case_attachments(session, case)],
        # Which danger indicators triage found, in which message and text; never the matched words
        # (the reporter's own, personal data: the message itself is above for whoever needs them).
        "indicators": [
            {"indicator": f.indicator, "source": f.source, "message_id": f.message_id}
            for f in case_findings(session, case)
        ],
        "notes": [
            {"id": n.id, "author_id": n.author_id, "body": n.body, "created_at": _iso(n.created_at)} for n in notes
        ],
        "mediation_sessions": [
            {
                "id": m.id,
                "mediator_id": m.mediator_id,
                "scheduled_at": _iso(m.scheduled_at),
                "held_at": _iso(m.held_at),
                "parties": m.parties,
                "notes": m.notes,
                "result": m.result,
                "follow_up_on": m.follow_up_on.isoformat() if m.follow_up_on else None,
            }
            for m in meetings
        ],
        "remedy_lines": [
            {
                "id": line.id,
                "mediation_session_id": line.mediation_session_id,
                "remedy": line.remedy,
                "amount": None if line.amount is None else str(line.amount),
                "currency": line.currency,
                "payer": line.payer,
                "due_on": line.due_on.isoformat() if line.due_on else None,
            }
            for line in remedy_lines(session, case)
        ],
        "outcome": None
        if outcome is None
        else {
            "resolution_type": outcome.resolution_type,
            "remedies": outcome.remedies,
            "amount_recovered": None if outcome.amount_recovered is None else str(outcome.amount_recovered),
            "currency": outcome.currency,
            "inspection_requested": outcome.inspection_requested,
            "sanction_reported": outcome.sanction_reported,
        },
    }


def load_case(reference: str) -> Case:
    """The case for `reference` if the API user may see it; 404 otherwise (existence never leaks)."""
    case = find_case(get_session(), reference)
    if case is None:
        abort(404, description="case not found")
    try:
        require_case_access(api_user(), case)
    except CaseAccessDenied:
        abort(404, description="case not found")
    return case


def done(case: Case, status: int = 200, **extra: Any) -> Any:
    """Commit the request's work and answer with the case's new state (its assignee named)."""
    session = get_session()
    session.commit()
    return jsonify(case=case_summary(case, assignee_name=assignee_name_of(case)), **extra), status


# --- endpoints ---------------------------------------------------------------------------------


@bp.get("/cases")
@token_required(*CASE_ROLES)
@domain_errors
def list_queue() -> Any:
    """The case queue, filtered, sorted and paginated (mediators see only their cases)."""
    filters = QueueFilters.from_args(request.args)
    rows, total = list_cases(get_session(), api_user(), filters)
    get_session().commit()  # the token's last-used time
    return jsonify(
        data=[
            {
                **case_summary(r.case, assignee_name=r.assignee_name, overdue=r.overdue),
                "due_at": _iso(r.due_at),
                "preview": None
                if r.preview is None
                else {"original": r.preview.original, "translation": r.preview.translation},
            }
            for r in rows
        ],
        count=total,
        sort=filters.sort,
        page=filters.page,
        per_page=filters.per_page,
    )


@bp.get("/cases/<reference>")
@token_required(*CASE_ROLES)
def show_case(reference: str) -> Any:
    """One case with its conversation (original and translation), notes, mediation and outcome."""
    case = load_case(reference)
    user = api_user()
    record_event(get_session(), action="case_viewed", case_id=case.id, actor_id=user.id, actor_kind="staff", via="api")
    detail = case_detail(case)
    get_session().commit()
    return jsonify(detail)


def reply_translation(
    text: str, target: str | None, sent_text: str | None
) -> tuple[str, TranslationResult | dict[str, Any] | None, str | None]:
    """Choose what to send, how it was made and its back-translation: human, same language, or MT."""
    working = current_app.config["WORKING_LANGUAGE"]
    if sent_text is not None:
        return sent_text, {"engine": "human", "source": working}, None
    draft = prepare_reply(get_translator(), text, working_language=working, reporter_language=target)
    if draft.same_language:
        return text, None, None
    if not draft.machine_available or not draft.sent_text:
        raise BadRequest(
            f"no machine translation from {working} to {draft.target_language} is available; "
            "send sent_text with a human translation"
        )
    return draft.sent_text, draft.translation, draft.back_text


@bp.post("/cases/<reference>/reply")
@token_required(*CASE_ROLES)
@domain_errors
def reply(reference: str) -> Any:
    """Queue a reply to the reporter, machine-translated into their language unless sent_text is given."""
    case = load_case(reference)
    body = json_body()
    text = text_field(body, "text") or ""
    check_editable(case, expected_version(body))
    sent, meta, back = reply_translation(text, case.language, text_field(body, "sent_text", required=False))
    message = queue_staff_reply(
        get_session(),
        case,
        api_user().id or 0,
        text,
        sent,
        meta,
        working_language=current_app.config["WORKING_LANGUAGE"],
        expected_version=expected_version(body),
    )
    return done(case, 201, message=message_shape(message), back_translation=back)


@bp.post("/cases/<reference>/messages/<int:message_id>/translation")
@token_required(*CASE_ROLES)
@domain_errors
def correct_message_translation(reference: str, message_id: int) -> Any:
    """Replace the translation of a reporter's message with a staff member's own (recorded as human)."""
    case = load_case(reference)
    body = json_body()
    message = correct_case_message(
        get_session(),
        case,
        message_id,
        text_field(body, "text") or "",
        api_user().id or 0,
        working_language=current_app.config["WORKING_LANGUAGE"],
        expected_version=expected_version(body),
    )
    return done(case, message=message_shape(message))


@bp.post("/cases/<reference>/assign")
@token_required(*ALL_CASES_ROLES)
@domain_errors
def assign(reference: str) -> Any:
    """Assign or transfer the case to a staff member of the right role."""
    case = load_case(reference)
    body = json_body()
    assign_case(
        get_session(),
        case,
        int_field(body, "assignee_id") or 0,
        api_user().id,
        text_field(body, "reason", required=False),
        expected_version=expected_version(body),
    )
    return done(case)


@bp.post("/cases/<reference>/transition")
@token_required(*CASE_ROLES)
@domain_errors
def change_status(reference: str) -> Any:
    """Move the case to another status (legal transitions only; reopening a closed case included)."""
    case = load_case(reference)
    body = json_body()
    raw = text_field(body, "to") or ""
    try:
        target = CaseStatus(raw)
    except ValueError:
        raise BadRequest(f"to must be one of {', '.join(s.value for s in CaseStatus)}") from None
    check_version(case, expected_version(body))
    session = get_session()
    if target is CaseStatus.REFERRED:  # referral to labour inspection by another name: same rule, same audit
        refer_to_inspection(session, case, api_user().id, text_field(body, "reason", required=False))
        return done(case)
    detail = reason_detail(session, case, api_user().id, text_field(body, "reason", required=False))
    reason = detail.get("reason") or ("see_note" if detail else None)
    if target is CaseStatus.CLOSED:
        confirm = body.get("confirm_unanswered", False)
        if not isinstance(confirm, bool):
            raise BadRequest("confirm_unanswered must be true or false")
        case_states.close_case(session, case, actor_id=api_user().id, confirm_unanswered=confirm, reason=reason)
        return done(case)
    case_states.transition(session, case, target, actor_id=api_user().id, reason=reason)
    return done(case)


@bp.post("/cases/<reference>/refer")
@token_required(*REFERRAL_ROLES)
@domain_errors
def refer(reference: str) -> Any:
    """Refer the case to mediation (to a mediator) or to the labour inspectorate (admin, ombudsperson)."""
    case = load_case(reference)
    body = json_body()
    target = text_field(body, "to")
    reason = text_field(body, "reason", required=False)
    if target == "mediation":
        refer_to_mediation(
            get_session(),
            case,
            int_field(body, "mediator_id") or 0,
            api_user().id,
            reason,
            expected_version=expected_version(body),
        )
    elif target == "inspection":
        refer_to_inspection(get_session(), case, api_user().id, reason, expected_version=expected_version(body))
    else:
        raise BadRequest("to must be mediation or inspection")
    return done(case)


@bp.post("/cases/<reference>/notes")
@token_required(*CASE_ROLES)
@domain_errors
def note(reference: str) -> Any:
    """Add an internal note (never shown to the reporter)."""
    case = load_case(reference)
    body = json_body()
    added = add_note(
        get_session(), case, api_user().id or 0, text_field(body, "body") or "", expected_version=expected_version(body)
    )
    return done(case, 201, note={"id": added.id})


@bp.post("/cases/<reference>/mediation-sessions")
@token_required(*CASE_ROLES)
@domain_errors
def mediation_session(reference: str) -> Any:
    """Schedule a mediation session (the case moves to in_mediation)."""
    case = load_case(reference)
    body = json_body()
    item = schedule_mediation(
        get_session(),
        case,
        int_field(body, "mediator_id") or 0,
        time_field(body, "scheduled_at"),
        text_field(body, "parties") or "",
        api_user().id,
        expected_version=expected_version(body),
    )
    return done(case, 201, mediation_session={"id": item.id})


def date_field(body: dict[str, Any], name: str) -> date | None:
    raw = body.get(name)
    if raw is None:
        return None
    if isinstance(raw, str) and len(raw) == 10:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise BadRequest(f"{name} must be an ISO 8601 date such as 2026-03-15")


def terms_field(body: dict[str, Any]) -> list[RemedyTerm]:
    """An agreement's `remedy_lines`: [{remedy, payer, amount, currency, due_on}]."""
    raw = body.get("remedy_lines", [])
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise BadRequest("remedy_lines must be a list of objects")
    terms = []
    for number, item in enumerate(raw, start=1):
        unknown = set(item) - {"remedy", "payer", "amount", "currency", "due_on"}
        if unknown:
            raise BadRequest(f"remedy_lines[{number}]: unknown field(s) {', '.join(sorted(unknown))}")
        amount = item.get("amount")
        if amount is not None and not isinstance(amount, str):
            raise BadRequest(f'remedy_lines[{number}].amount must be a decimal string such as "1250.00"')
        terms.append(
            RemedyTerm(
                remedy=text_field(item, "remedy") or "",
                payer=text_field(item, "payer") or "",
                amount=amount,
                currency=text_field(item, "currency", required=False),
                due_on=date_field(item, "due_on"),
            )
        )
    return terms


def _mediation_session(case: Case, session_id: int) -> MediationSession:
    item = get_session().get(MediationSession, session_id)
    if item is None or item.case_id != case.id:
        abort(404, description="mediation session not found")
    return item


@bp.post("/cases/<reference>/mediation-sessions/<int:session_id>/result")
@token_required(*CASE_ROLES)
@domain_errors
def mediation_result(reference: str, session_id: int) -> Any:
    """Record when a mediation session was held, its notes, its result and an agreement's terms."""
    case = load_case(reference)
    body = json_body()
    record_mediation_result(
        get_session(),
        _mediation_session(case, session_id),
        time_field(body, "held_at"),
        text_field(body, "notes", required=False),
        text_field(body, "result") or "",
        api_user().id,
        terms=terms_field(body),
        follow_up_on=date_field(body, "follow_up_on"),
        expected_version=expected_version(body),
    )
    return done(case)


@bp.post("/cases/<reference>/mediation-sessions/<int:session_id>/amend")
@token_required(*CASE_ROLES)
@domain_errors
def mediation_amend(reference: str, session_id: int) -> Any:
    """Correct a recorded result and its terms, with a reason (audited with what it was)."""
    case = load_case(reference)
    body = json_body()
    amend_mediation_result(
        get_session(),
        _mediation_session(case, session_id),
        time_field(body, "held_at"),
        text_field(body, "notes", required=False),
        text_field(body, "result") or "",
        api_user().id,
        reason=text_field(body, "reason") or "",
        terms=terms_field(body),
        follow_up_on=date_field(body, "follow_up_on"),
        expected_version=expected_version(body),
    )
    return done(case)


@bp.post("/cases/<reference>/outcome")
@token_required(*CASE_ROLES)
@domain_errors
def outcome(reference: str) -> Any:
    """Record (or correct) the outcome: resolution, remedies, amount recovered with currency."""
    case = load_case(reference)
    body = json_body()
    remedies = body.get("remedies", [])
    if not isinstance(remedies, list) or not all(isinstance(r, str) for r in remedies):
        raise BadRequest("remedies must be a list of strings")
    amount = body.get("amount_recovered")
    if amount is not None and not isinstance(amount, str):
        raise BadRequest('amount_recovered must be a decimal string such as "1250.00"')
    record_outcome(
        get_session(),
        case,
        resolution_type=text_field(body, "resolution_type") or "",
        remedies=remedies,
        amount_recovered=amount,
        currency=text_field(body, "currency", required=False),
        inspection_requested=bool_field(body, "inspection_requested"),
        sanction_reported=bool_field(body, "sanction_reported"),
        actor_id=api_user().id,
        expected_version=expected_version(body),
    )
    return done(case, 201)


@bp.post("/cases/<reference>/triage")
@token_required(*ALL_CASES_ROLES)
@domain_errors
def triage(reference: str) -> Any:
    """Correct the automatic triage (category, urgency, country, sector); audited for accuracy."""
    case = load_case(reference)
    body = json_body()
    changes = override_triage(
        get_session(),
        case,
        api_user().id or 0,
        **{k: text_field(body, k, required=False) for k in ("category", "urgency", "country", "sector")},
        expected_version=expected_version(body),
    )
    return done(case, changed=sorted(changes))


@bp.post("/cases/<reference>/triage/confirm")
@token_required(*ALL_CASES_ROLES)
@domain_errors
def confirm(reference: str) -> Any:
    """Triage is right as it stands: the case leaves the needs-human-triage list (audited)."""
    case = load_case(reference)
    body = request.get_json(silent=True) if request.get_data().strip() else {}
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object (Content-Type: application/json), or no body at all")
    confirm_triage(get_session(), case, api_user().id or 0, expected_version=expected_version(body))
    return done(case)


@bp.get("/cases/<reference>/audit")
@token_required(Role.ADMIN)
def audit_trail(reference: str) -> Any:
    """The case's append-only audit trail (admins only)."""
    case = load_case(reference)
    session = get_session()
    events = worklist.audit_trail(session, case)
    record_event(session, action="audit_viewed", case_id=case.id, actor_id=api_user().id, actor_kind="staff")
    session.commit()
    return jsonify(
        data=[
            {
                "id": e.id,
                "action": e.action,
                "actor_id": e.actor_id,
                "actor_kind": e.actor_kind,
                "detail": e.detail,
                "created_at": _iso(e.created_at),
            }
            for e in events
        ]
    )


@bp.get("/routing-rules")
@token_required(Role.ADMIN)
def get_routing_rules() -> Any:
    """The routing rules in force (YAML) and the saved version's id (null: the file's defaults)."""
    text, version = current_rules_text(get_session(), current_app.config["ROUTING_RULES_PATH"])
    get_session().commit()
    return jsonify(yaml=text, version=version)


@bp.put("/routing-rules")
@token_required(Role.ADMIN)
@domain_errors
def put_routing_rules() -> Any:
    """Validate and save new routing rules (YAML in {"yaml": …}); used at once by every worker."""
    text = text_field(json_body(), "yaml") or ""
    saved = save_rules(get_session(), text, api_user().id)
    get_session().commit()
    return jsonify(yaml=saved.body, version=saved.id)


# --- OpenAPI -----------------------------------------------------------------------------------


def _operation(
    summary: str,
    tag: str,
    body: dict[str, Any] | None = None,
    ok: int = 200,
    params: list[dict[str, Any]] | None = None,
    ok_schema: str = "CaseResult",
) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "security": [{"bearer": []}],
        "responses": {
            str(ok): {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ok_schema}"}}},
            },
            "400": {"description": "bad input", **error},
            "401": {"description": "no valid token", **error},
            "403": {"description": "role not allowed", **error},
            "404": {"description": "no such case (or not yours)", **error},
            "409": {"description": "stale edit or closed case", **error},
        },
    }
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _obj(required: list[str], versioned: bool = True, **props: Any) -> dict[str, Any]:
    if versioned:
        props["expected_version"] = {"type": "integer", "description": "the case version you edited (409 if stale)"}
    return {"type": "object", "required": required, "properties": props, "additionalProperties": False}


REF = {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}, "example": "K7M2-9QXD"}
STR = {"type": "string"}
SESSION_ID = {"name": "session_id", "in": "path", "required": True, "schema": {"type": "integer"}}
REMEDY_LINE = {
    "type": "object",
    "required": ["remedy", "payer"],
    "additionalProperties": False,
    "properties": {
        "remedy": {"enum": list(REMEDIES)},
        "payer": {"enum": list(PAYERS)},
        "amount": {"type": "string", "description": 'a decimal string such as "1250.00"; needs currency'},
        "currency": {"type": "string", "description": "ISO 4217"},
        "due_on": {"type": "string", "format": "date"},
    },
}
RESULT_FIELDS: dict[str, Any] = {
    "held_at": {"type": "string", "format": "date-time"},
    "notes": STR,
    "result": {"enum": list(MEDIATION_RESULTS)},
    "remedy_lines": {"type": "array", "items": REMEDY_LINE, "description": "only for agreement, partial_agreement"},
    "follow_up_on": {"type": "string", "format": "date"},
}
QUEUE_PARAMS = [
    {"name": name, "in": "query", "required": False, "schema": schema}
    for name, schema in (
        ("route", {"enum": ["ombudsperson", "mediation"]}),
        ("status", {"enum": [s.value for s in CaseStatus]}),
        ("urgency", {"enum": ["low", "normal", "high", "critical"]}),
        ("language", {"type": "string", "pattern": "^[A-Za-z][A-Za-z-]{1,7}$", "example": "tl"}),
        ("overdue", {"type": "boolean"}),
        ("needs_human_translation", {"type": "boolean"}),
        (
            "assignee_id",
            {
                "anyOf": [{"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, {"enum": ["none", "unassigned"]}],
                "description": "a staff id, or 'none' for unassigned",
            },
        ),
        (
            "q",
            {
                "type": "string",
                "pattern": "^[0-9A-TV-Za-tv-z]{0,4}(-?[0-9A-TV-Za-tv-z]{0,4})?$",
                "description": "(part of) a case reference",
            },
        ),
        ("mine", {"type": "boolean", "description": "only the cases assigned to the caller"}),
        (
            "wrote_back",
            {"type": "boolean", "description": "the reporter wrote again since the assignee last opened it"},
        ),
        ("category", {"enum": [c.value for c in Category]}),
        ("country", {"type": "string", "pattern": "^[A-Za-z]{2}$", "example": "SA"}),
        ("sector", {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$", "example": "domestic_work"}),
        ("channel", {"enum": [c.value for c in ChannelKind]}),
        (
            "employer",
            {
                "type": "string",
                "maxLength": 200,
                "description": "an employer's name, matched exactly through its keyed hash (case and spacing ignored)",
            },
        ),
        (
            "phone",
            {
                "type": "string",
                "pattern": PHONE_PATTERN,
                "example": "+639171234567",
                "description": "a reporter's number in international form; found through the reporters' keyed hash",
            },
        ),
        (
            "sort",
            {
                "enum": list(SORTS),
                "default": "triage",
                "description": "triage (default): needs_human_triage first, then urgency (critical first), then the "
                "next deadline (overdue first, soonest due first, none last), then id; urgency: urgency, deadline; "
                "due: deadline; newest / oldest: by created_at",
            },
        ),
        ("page", {"type": "integer", "minimum": 1, "maximum": 100_000}),
        ("per_page", {"type": "integer", "minimum": 1, "maximum": 200}),
    )
]

SCHEMAS: dict[str, Any] = {
    "CaseSummary": {
        "type": "object",
        "properties": {
            "reference": STR,
            "status": STR,
            "category": {"type": ["string", "null"]},
            "category_confidence": {"type": ["number", "null"]},
            "urgency": STR,
            "route": {"type": ["string", "null"]},
            "assignee_id": {"type": ["integer", "null"]},
            "assignee_name": {"type": ["string", "null"], "description": "the assignee's display name"},
            "language": {"type": ["string", "null"]},
            "needs_human_translation": {"type": "boolean"},
            "needs_human_triage": {
                "type": "boolean",
                "description": "triage had too little to go on (or can't read the language): a person must "
                "triage it; such cases come first in the queue",
            },
            "overdue": {"type": "boolean"},
            "reporter_wrote_back_at": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "when the reporter last wrote again; cleared when the assignee opens the case",
            },
            "version": {"type": "integer"},
        },
    },
    "QueueItem": {
        "allOf": [
            {"$ref": "#/components/schemas/CaseSummary"},
            {
                "type": "object",
                "properties": {
                    "due_at": {
                        "type": ["string", "null"],
                        "format": "date-time",
                        "description": "the next deadline still running (first response or resolution)",
                    },
                    "preview": {
                        "type": ["object", "null"],
                        "description": "the first 120 characters of the latest inbound message (numbers masked)",
                        "properties": {"original": STR, "translation": {"type": ["string", "null"]}},
                    },
                },
            },
        ]
    },
    "CaseResult": {"type": "object", "properties": {"case": {"$ref": "#/components/schemas/CaseSummary"}}},
    "CaseList": {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/QueueItem"}},
            "count": {"type": "integer"},
            "sort": STR,
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    },
    "Message": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "direction": {"enum": ["inbound", "outbound"]},
            "body": STR,
            "language": {"type": ["string", "null"]},
            "translation": {"type": ["string", "null"]},
            "translation_engine": {"type": ["string", "null"]},
            "translation_model_version": {"type": ["string", "null"]},
            "translation_pivot": {"type": ["string", "null"]},
            "translation_corrected_by_id": {"type": ["integer", "null"]},
            "needs_human_translation": {"type": "boolean"},
        },
    },
    "CaseDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/CaseSummary"},
            {
                "type": "object",
                "properties": {
                    "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
                    "indicators": {"type": "array", "items": {"$ref": "#/components/schemas/Indicator"}},
                    "attachments": {"type": "array", "items": {"$ref": "#/components/schemas/Attachment"}},
                },
            },
        ]
    },
    "Indicator": {
        "type": "object",
        "description": "a danger indicator triage found; the words that matched are not given (personal data)",
        "required": ["indicator", "source", "message_id"],
        "properties": {
            "indicator": {"type": "string", "description": "a name from triage_rules.yaml, e.g. debt_bondage"},
            "source": {"enum": ["original", "translation"], "description": "the text it was found in"},
            "message_id": {"type": "integer"},
        },
    },
    "ReplyResult": {
        "type": "object",
        "properties": {
            "case": {"$ref": "#/components/schemas/CaseSummary"},
            "message": {"$ref": "#/components/schemas/Message"},
            "back_translation": {
                "type": ["string", "null"],
                "description": "the machine translation translated back into the working language",
            },
        },
    },
    "MessageResult": {
        "type": "object",
        "properties": {
            "case": {"$ref": "#/components/schemas/CaseSummary"},
            "message": {"$ref": "#/components/schemas/Message"},
        },
    },
    "RoutingRules": {"type": "object", "properties": {"yaml": STR, "version": {"type": ["integer", "null"]}}},
    "AuditTrail": {"type": "object", "properties": {"data": {"type": "array", "items": {"type": "object"}}}},
}


def _confirm_operation() -> dict[str, Any]:
    operation = _operation(
        "Confirm the automatic triage as right (clears needs_human_triage; audited)",
        "cases",
        _obj([]),
        params=[REF],
    )
    operation["requestBody"]["required"] = False  # no body at all is fine
    return operation


def register_openapi(app: Flask) -> None:
    case = "/api/v1/cases/{reference}"
    add_paths(
        app,
        {
            "/api/v1/cases": {
                "get": _operation("List the case queue", "cases", params=QUEUE_PARAMS, ok_schema="CaseList")
            },
            case: {
                "get": _operation("Show a case with its conversation", "cases", params=[REF], ok_schema="CaseDetail")
            },
            f"{case}/reply": {
                "post": _operation(
                    "Queue a reply to the reporter",
                    "cases",
                    _obj(
                        ["text"],
                        text={"type": "string", "description": "in the staff's working language"},
                        sent_text={
                            "type": "string",
                            "description": "a human translation to send instead of MT; without it "
                            "the reply is machine-translated, or refused with 400 where no engine covers the pair",
                        },
                    ),
                    201,
                    [REF],
                    ok_schema="ReplyResult",
                )
            },
            f"{case}/messages/{{message_id}}/translation": {
                "post": _operation(
                    "Correct the translation of a reporter's message",
                    "cases",
                    _obj(
                        ["text"],
                        text={
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 10000,
                            "description": "the translation into the working language (recorded as human)",
                        },
                    ),
                    params=[REF, {"name": "message_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    ok_schema="MessageResult",
                )
            },
            f"{case}/assign": {
                "post": _operation(
                    "Assign or transfer the case",
                    "cases",
                    _obj(["assignee_id"], assignee_id={"type": "integer"}, reason=STR),
                    params=[REF],
                )
            },
            f"{case}/transition": {
                "post": _operation(
                    "Change the case's status (to referred: a referral, admin or ombudsperson; to closed, when "
                    "the worker never got a reply: 409 unless confirm_unanswered is true)",
                    "cases",
                    _obj(
                        ["to"],
                        to={"enum": [s.value for s in CaseStatus]},
                        reason=STR,
                        confirm_unanswered={"type": "boolean"},
                    ),
                    params=[REF],
                )
            },
            f"{case}/refer": {
                "post": _operation(
                    "Refer to mediation or to labour inspection (admin, ombudsperson)",
                    "cases",
                    _obj(["to"], to={"enum": ["mediation", "inspection"]}, mediator_id={"type": "integer"}, reason=STR),
                    params=[REF],
                )
            },
            f"{case}/notes": {
                "post": _operation("Add an internal note", "cases", _obj(["body"], body=STR), 201, [REF])
            },
            f"{case}/mediation-sessions": {
                "post": _operation(
                    "Schedule a mediation session",
                    "mediation",
                    _obj(
                        ["mediator_id", "scheduled_at", "parties"],
                        mediator_id={"type": "integer"},
                        scheduled_at={"type": "string", "format": "date-time"},
                        parties=STR,
                    ),
                    201,
                    [REF],
                )
            },
            f"{case}/mediation-sessions/{{session_id}}/result": {
                "post": _operation(
                    "Record a mediation session's result (with an agreement's terms as remedy lines)",
                    "mediation",
                    _obj(["held_at", "result"], **RESULT_FIELDS),
                    params=[REF, SESSION_ID],
                )
            },
            f"{case}/mediation-sessions/{{session_id}}/amend": {
                "post": _operation(
                    "Amend a recorded result and its terms, with a reason (audited)",
                    "mediation",
                    _obj(["held_at", "result", "reason"], **RESULT_FIELDS, reason=STR),
                    params=[REF, SESSION_ID],
                )
            },
            f"{case}/outcome": {
                "post": _operation(
                    "Record the outcome",
                    "mediation",
                    _obj(
                        ["resolution_type"],
                        resolution_type=STR,
                        remedies={"type": "array", "items": STR},
                        amount_recovered={"type": "string", "pattern": r"^\d{1,12}(\.\d{1,2})?$"},
                        currency={"type": "string", "pattern": "^[A-Z]{3}$"},
                        inspection_requested={"type": "boolean"},
                        sanction_reported={"type": "boolean"},
                    ),
                    201,
                    [REF],
                )
            },
            f"{case}/triage": {
                "post": _operation(
                    "Override the automatic triage",
                    "cases",
                    _obj([], category=STR, urgency=STR, country=STR, sector=STR),
                    params=[REF],
                )
            },
            f"{case}/triage/confirm": {"post": _confirm_operation()},
            f"{case}/audit": {
                "get": _operation("Read the case's audit trail (admin)", "cases", params=[REF], ok_schema="AuditTrail")
            },
            "/api/v1/routing-rules": {
                "get": _operation("Read the routing rules (admin)", "admin", ok_schema="RoutingRules"),
                "put": _operation(
                    "Validate and save routing rules (admin)",
                    "admin",
                    _obj(["yaml"], versioned=False, yaml=STR),
                    ok_schema="RoutingRules",
                ),
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "tags": ["meta"],
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
        },
        SCHEMAS,
    )
