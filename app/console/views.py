"""Console pages: the queue, the case page, and the case forms (each a thin call into casework)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.numbers import NumberFormatError, format_decimal, parse_decimal
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext, refresh
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from app.console import bp
from app.db import get_session
from app.i18n import babel_locale, page_language
from app.labels import code_label
from app.mt import get_translator
from app.security import role_required
from casework.access import (
    ALL_CASES_ROLES,
    CASE_ROLES,
    REFERRAL_ROLES,
    ActionNotAllowed,
    can_view_case,
    restrict_to_visible,
)
from casework.attachments import AttachmentItem, case_attachments, human_size
from casework.audit import record_event
from casework.cases import LEGAL_TRANSITIONS, UnansweredClose, close_case, reporter_answered, transition
from casework.editing import CaseworkError, StaleCase, check_version
from casework.mediation import (
    MEDIATION_RESULTS,
    PAYERS,
    REMEDIES,
    RESOLUTION_TYPES,
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
    ContactVerification,
    Reporter,
    Role,
    Route,
    StaffUser,
    Urgency,
)
from casework.notes import add_note
from casework.privacy import mask_phone
from casework.replies import ReplyDraft, prepare_reply, queue_staff_reply, reply_provenance
from casework.routing import assign_case
from casework.texts import SUPPORTED_LANGUAGES
from casework.translation import TranslationResult, correct_case_message
from casework.triage import TriageError, confirm_triage, load_lexicon, override_triage, period_bounds, triage_confusion
from casework.triage_explain import Marked, case_findings, describe_event, explain_triage, mark_phrases
from casework.worklist import (
    InvalidFilter,
    QueueFilters,
    audit_trail,
    case_history,
    clear_wrote_back,
    find_case,
    is_overdue,
    list_cases,
)

STALE_MESSAGE = _l(
    "Someone else changed this case while you were editing it. Nothing you submitted was saved: "
    "read the case again below and redo your change if it is still needed."
)
UNANSWERED = _l(
    "The worker has never received a reply on this case: send one first, or confirm that you are "
    "closing it without a reply."
)
SHORTCUTS = [
    ("q", _l("the queue")),
    ("f", _l("the queue's reference search")),
    ("m", _l("a case's conversation")),
    ("n", _l("a case's new note")),
    ("r", _l("a case's reply")),
    ("s", _l("a case's status change")),
]
STATUS_LABELS = {
    CaseStatus.IN_MEDIATION: _l("refer to mediation"),
    CaseStatus.REFERRED: _l("refer to labour inspection"),
    CaseStatus.INVESTIGATING: _l("investigate"),
    CaseStatus.RESOLVED: _l("mark resolved"),
    CaseStatus.CLOSED: _l("close"),
    CaseStatus.ASSIGNED: _l("mark assigned"),
    CaseStatus.TRIAGED: _l("mark triaged"),
}


class FormError(ValueError):
    """A console form field is malformed; the message names it."""


@bp.route("/shortcuts")
@login_required
def shortcuts() -> str:
    return render_template("console/shortcuts.html", shortcuts=SHORTCUTS)


def _staff_names(db: Session) -> dict[int, str]:
    return {user.id: user.display_name for user in db.exec(select(StaffUser)).all() if user.id is not None}


def _can_take_cases(user: StaffUser) -> bool:
    return user.active and user.role in CASE_ROLES


QUEUE_SORTS = {
    "triage": _l("awaiting a person's triage, then urgency, then due"),
    "urgency": _l("urgency, then due"),
    "due": _l("due soonest (overdue first)"),
    "newest": _l("newest first"),
    "oldest": _l("oldest first"),
}
MAX_BULK = 200
# What a form lacks when a choice is missing, by field name.
FIELD_MISSING = {"assignee_id": _l("choose an assignee"), "mediator_id": _l("choose a mediator")}
TRIAGE_FIELDS = {"category": _l("category"), "urgency": _l("urgency"), "country": _l("country"), "sector": _l("sector")}


def staff_zone(db: Session) -> ZoneInfo:
    """The time zone the console shows the signed-in user times in: theirs, else the configured
    default (`DEFAULT_TIME_ZONE`), else UTC. Read once per request."""
    if "staff_zone" in g:
        return g.staff_zone  # type: ignore[no-any-return]
    user = db.get(StaffUser, current_user.id) if current_user.is_authenticated else None
    zone = ZoneInfo("UTC")
    for name in (user.time_zone if user else None, current_app.config.get("DEFAULT_TIME_ZONE")):
        if name:
            try:
                zone = ZoneInfo(name)
                break
            except (ZoneInfoNotFoundError, ValueError):
                continue
    g.staff_zone = zone
    return zone


@bp.app_template_filter("staff_time")
def staff_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A moment as the signed-in staff member reads it: in their time zone, the zone named."""
    if value is None:
        return "—"
    return value.astimezone(staff_zone(get_session())).strftime(fmt)


@bp.context_processor
def _zone_name() -> dict[str, Any]:
    return {"zone_name": str(staff_zone(get_session())) if current_user.is_authenticated else "UTC"}


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return _("%(num)d min", num=max(minutes, 1))
    if minutes < 48 * 60:
        return _("%(num)d h", num=minutes // 60)
    return _("%(num)d d", num=minutes // (24 * 60))


def relative_due(due: datetime, now: datetime) -> str:
    """ "in 3 h", "overdue by 2 h" (minutes under an hour, days from two days on)."""
    if due <= now:
        return _("overdue by %(span)s", span=_span(now - due))
    return _("in %(span)s", span=_span(due - now))


def _queue_page(db: Session, filters: QueueFilters, args: dict[str, str], **extra: Any) -> str:
    zone = staff_zone(db)
    return render_template(
        "console/queue.html",
        filters=filters,
        args=args,
        assignees=_assignees(db),
        sorts=QUEUE_SORTS,
        categories=[c.value for c in Category],
        zone=zone,
        now=datetime.now(UTC),
        relative_due=relative_due,
        can_bulk_assign=current_user.role in ALL_CASES_ROLES,
        **extra,
    )


@bp.route("/")
@login_required
def queue() -> Any:
    if current_user.role is Role.ANALYST:
        return render_template("console/analyst.html")
    if current_user.role not in CASE_ROLES:
        abort(403)
    db = get_session()
    args = {k: v for k, v in request.args.items() if v != ""}
    try:
        filters = QueueFilters.from_args(args)
    except InvalidFilter as exc:
        return _queue_page(db, QueueFilters(), args, rows=[], total=0, pages=1, error=str(exc)), 400
    rows, total = list_cases(db, current_user, filters)
    pages = max(1, -(-total // filters.per_page))
    return _queue_page(db, filters, args, rows=rows, total=total, pages=pages)


def _back_to_queue() -> Any:
    """The queue again, with the filters the form was sent from (a query string, so no open redirect)."""
    query = request.form.get("back", "")
    target = url_for("console.queue")
    return redirect(f"{target}?{query}" if query and "\n" not in query and "\r" not in query else target, 303)


@bp.route("/bulk-assign", methods=["POST"])
@role_required(*ALL_CASES_ROLES)
def bulk_assign() -> Any:
    """Assign (or transfer) the ticked cases to one person: every one, or none (`assign_case` each)."""
    db = get_session()
    references = [r for r in request.form.getlist("reference") if r.strip()]
    try:
        if not references:
            raise FormError(_("tick at least one case"))
        if len(references) > MAX_BULK:
            raise FormError(_("tick at most %(num)d cases at once", num=MAX_BULK))
        assignee_id = _int_field("assignee_id")
        cases = [_load_case(db, reference) for reference in dict.fromkeys(references)]
        changed = 0
        for case in cases:
            if case.assignee_id == assignee_id:
                continue  # already theirs: nothing to do
            try:
                assign_case(db, case, assignee_id, current_user.id, _reason())
            except CaseworkError as exc:
                raise FormError(f"{case.reference}: {exc}") from None
            changed += 1
        db.commit()
    except (FormError, CaseworkError) as exc:
        db.rollback()
        flash(_("Nothing was assigned: %(problem)s.", problem=exc), "error")
        return _back_to_queue()
    except StaleDataError:
        db.rollback()
        flash(_("Nothing was assigned: someone else changed one of these cases meanwhile; try again."), "error")
        return _back_to_queue()
    flash(ngettext("%(num)d case assigned.", "%(num)d cases assigned.", changed), "info")
    return _back_to_queue()


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> Any:
    """The staff member's own settings: the console's language and the time zone times are shown in."""
    zones = sorted(available_timezones())
    db = get_session()
    if request.method == "POST":
        name = request.form.get("time_zone", "").strip()
        language = request.form.get("interface_language")
        problem = None
        if (name and name not in zones) or (not name and language is None):
            problem = _("The time zone must be a name such as Asia/Manila or Europe/Berlin. Nothing was changed.")
        elif language is not None and language not in SUPPORTED_LANGUAGES:
            problem = _("Choose one of the listed languages. Nothing was changed.")
        if problem:
            return render_template("console/settings.html", zones=zones, current=staff_zone(db).key, error=problem), 400
        user = db.get(StaffUser, current_user.id)
        assert user is not None
        if name:
            user.time_zone = name
        if language is not None:
            user.interface_language = language
        db.add(user)
        db.commit()
        if language is not None:
            # This request chose its language before the change: speak the new one from here on.
            current_user.interface_language = language
            refresh()
        flash(_("Settings saved: times are shown in %(zone)s.", zone=name or staff_zone(db).key), "info")
        return redirect(url_for("console.settings"), 303)
    return render_template("console/settings.html", zones=zones, current=staff_zone(db).key)


def _assignees(db: Session) -> list[StaffUser]:
    statement = select(StaffUser).where(
        StaffUser.active == True,  # noqa: E712
        col(StaffUser.role).in_([r.value for r in CASE_ROLES]),
    )
    return list(db.exec(statement.order_by(col(StaffUser.display_name))).all())


def _load_case(db: Session, reference: str) -> Case:
    """The visible case with `reference`, or 404 (also when the user may not see it)."""
    case = find_case(db, reference)
    if case is None or not can_view_case(current_user, case):
        abort(404)
    return case


def _triage_marks(messages: list[Any], why: Any) -> dict[int, dict[str, Marked]]:
    """Per message, its original and translation cut around the words triage matched there."""
    marks: dict[int, dict[str, Marked]] = {}
    for message in messages:
        if message.id is None or message.id not in why.findings:
            continue
        texts = {"original": message.body, "translation": message.translation}
        marks[message.id] = {
            source: mark_phrases(text, why.phrases(message.id, source))
            for source, text in texts.items()
            if why.phrases(message.id, source)
        }
    return marks


# The form each case route posts, so a refused one is shown again open (the others folded).
FORM_OF_ENDPOINT = {
    "console.case_note": "notes",
    "console.case_status": "status",
    "console.case_assign": "assign",
    "console.case_triage": "triage",
    "console.case_triage_confirm": "triage",
    "console.case_refer": "refer",
    "console.case_mediation_schedule": "mediation",
    "console.case_outcome": "outcome",
    "console.case_reply": "reply",
}


def _open_form() -> str:
    """Which folded form the page shows open: the one just posted (refused, or a reply preview), else
    `?open=NAME` (a link to a form); none otherwise. NAME is only compared, never echoed."""
    if request.method == "POST":
        view_args = request.view_args or {}
        if request.endpoint == "console.case_mediation_result":
            return f"mediation-{view_args.get('session_id')}"
        if request.endpoint == "console.case_mediation_amend":
            return f"amend-{view_args.get('session_id')}"
        if request.endpoint == "console.case_translation":
            return f"message-{view_args.get('message_id')}"
        return FORM_OF_ENDPOINT.get(request.endpoint or "", "")
    return request.args.get("open", "")[:40]


def _reporter_facts(db: Session, case: Case) -> dict[str, Any]:
    """Who reported, as staff need it: channel, language, consent, a masked contact, other cases.

    The number itself is never on the page, and a number typed into the web form that its owner has
    not proven is not shown at all (it may be someone else's)."""
    reporter = db.get(Reporter, case.reporter_id)
    language = (reporter.language if reporter else None) or case.language
    pending = db.exec(
        select(ContactVerification).where(
            ContactVerification.case_id == case.id, col(ContactVerification.verified_at).is_(None)
        )
    ).first()
    contact = reporter.contact if reporter and reporter.erased_at is None else None
    replies_by = (reporter.contact_channel if reporter else None) or case.channel
    if reporter is not None and reporter.erased_at is not None:
        consent = _("personal data erased: nothing can be sent")
    elif reporter is not None and reporter.opted_out:
        when = reporter.opted_out_at.strftime("%Y-%m-%d") if reporter.opted_out_at else "?"
        consent = _("opted out (STOP) on %(date)s: nothing is sent until they write START", date=when)
    elif contact and case.channel != ChannelKind.WEB:
        consent = _("wrote to us by %(channel)s: replies go back to this number", channel=code_label(case.channel))
    elif contact:
        consent = _(
            "gave a number with consent to be contacted, proven with a code: replies by %(channel)s",
            channel=code_label(replies_by),
        )
    elif pending is not None and pending.contact is not None:
        consent = _("gave a number, not proven yet: replies are read on the status page only")
    else:
        consent = _("anonymous, no contact: replies are read on the status page (reference and PIN)")
    others = db.exec(
        restrict_to_visible(
            select(Case).where(Case.reporter_id == case.reporter_id, Case.id != case.id), current_user
        ).order_by(col(Case.created_at).desc())
    ).all()
    return {
        "channel": case.channel,
        "replies_by": replies_by,
        "language": language_name(language) if language else _("unknown"),
        "consent": consent,
        "contact": mask_phone(contact) if contact else None,
        "other_cases": list(others),
    }


def _attachments_by_message(db: Session, case: Case) -> dict[int, list[AttachmentItem]]:
    by_message: dict[int, list[AttachmentItem]] = {}
    for item in case_attachments(db, case):
        by_message.setdefault(item.message_id, []).append(item)
    return by_message


def _case_context(db: Session, case: Case) -> dict[str, Any]:
    history = case_history(db, case)
    staff = sorted(db.exec(select(StaffUser)).all(), key=lambda u: u.display_name)  # one small table, read once
    assignees = [u for u in staff if _can_take_cases(u)]
    status = CaseStatus(case.status)
    lexicon = load_lexicon(current_app.config["TRIAGE_LEXICON_PATH"])
    why = explain_triage(case, history.events, case_findings(db, case), lexicon)
    return {
        "case": case,
        "why": why,
        "marks": _triage_marks(history.messages, why),
        "event_words": {e.id: describe_event(e, lexicon) for e in history.events},
        "message_times": {m.id: staff_time(m.created_at) for m in history.messages},
        "messages": history.messages,
        "notes": history.notes,
        "events": history.events,
        "sessions": history.mediation_sessions,
        "outcome": history.outcome,
        "names": {u.id: u.display_name for u in staff},
        "assignees": assignees,
        "transitions": sorted(LEGAL_TRANSITIONS[status], key=lambda s: list(CaseStatus).index(s)),
        "status_labels": STATUS_LABELS,
        "overdue": is_overdue(case),
        "categories": list(Category),
        "urgencies": list(Urgency),
        "routes": list(Route),
        "can_manage": current_user.role in ALL_CASES_ROLES,
        "is_admin": current_user.role is Role.ADMIN,
        "closed": status is CaseStatus.CLOSED,
        "mediators": [u for u in assignees if u.role == Role.MEDIATOR],
        "mediation_results": MEDIATION_RESULTS,
        "payers": PAYERS,
        "remedy_lines": remedy_lines(db, case),
        "resolution_types": RESOLUTION_TYPES,
        "remedies": REMEDIES,
        "working_language": current_app.config["WORKING_LANGUAGE"],
        "reporter_answered": reporter_answered(db, case),
        "typed": {},  # what a refused form held, to show it again
        "reporter": _reporter_facts(db, case),
        "attachments": _attachments_by_message(db, case),
        "human_size": human_size,
        "open_form": _open_form(),
    }


@bp.route("/cases/<reference>")
@role_required(*CASE_ROLES)
def case_page(reference: str) -> str:
    db = get_session()
    case = _load_case(db, reference)
    clear_wrote_back(db, case, current_user.id)
    _audited_view(db, case)
    return render_template("console/case.html", **_case_context(db, case))


@bp.route("/cases/<reference>/audit")
@role_required(Role.ADMIN)
def case_audit(reference: str) -> str:
    db = get_session()
    case = _load_case(db, reference)
    record_event(db, action="audit_viewed", case_id=case.id, actor_id=current_user.id, actor_kind="staff")
    db.commit()
    events = audit_trail(db, case)
    return render_template("console/audit.html", case=case, events=events, names=_staff_names(db))


def _form_version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isascii() and raw.isdigit() else None  # isdigit() alone takes "²", int() doesn't


def _apply(reference: str, change: Callable[[Session, Case], str | None], *, anchor: str = "") -> Any:
    """Run one form's change on the case and commit it, or refuse it whole.

    The case version the form was built from must still be current (StaleCase, or the ORM's
    StaleDataError when another commit wins the race): then nothing is written and the page
    says so with 409. Domain refusals (CaseworkError) re-render with 400 and their message.
    """
    db = get_session()
    case = _load_case(db, reference)
    version = _form_version()
    if version is None:
        return _refuse(db, case, _("This form is missing the case version; reload the case and try again."), 400)
    try:
        check_version(case, version)
        done = change(db, case)
        db.commit()
    except (StaleCase, StaleDataError):
        db.rollback()
        return _refuse(db, case, str(STALE_MESSAGE), 409)
    except ActionNotAllowed:  # the domain's own role check, behind the route's
        db.rollback()
        abort(403)
    except ValueError as exc:  # the domain's refusals (CaseworkError, IllegalTransition, …): nothing written
        db.rollback()
        return _refuse(db, case, str(exc), 400, typed=request.form)
    if done:
        flash(done, "info")
    return redirect(url_for("console.case_page", reference=case.reference) + anchor, code=303)


def _audited_view(db: Session, case: Case) -> None:
    record_event(db, action="case_viewed", case_id=case.id, actor_id=current_user.id, actor_kind="staff")
    db.commit()


def _refuse(db: Session, case: Case, message: str, status: int, **extra: Any) -> tuple[str, int]:
    """Show the case again (as it is now) with why the form was refused; the view is audited."""
    db.expire_all()
    fresh = db.get(Case, case.id)
    assert fresh is not None
    _audited_view(db, fresh)
    return render_template("console/case.html", **{**_case_context(db, fresh), "error": message, **extra}), status


@bp.route("/cases/<reference>/notes", methods=["POST"])
@role_required(*CASE_ROLES)
def case_note(reference: str) -> Any:
    def change(db: Session, case: Case) -> str:
        add_note(db, case, current_user.id, request.form.get("body", ""), expected_version=_form_version())
        return _("Note added.")

    return _apply(reference, change, anchor="#notes")


@bp.route("/cases/<reference>/status", methods=["POST"])
@role_required(*CASE_ROLES)
def case_status(reference: str) -> Any:
    def change(db: Session, case: Case) -> str:
        raw = request.form.get("to", "")
        try:
            target = CaseStatus(raw)
        except ValueError:
            raise CaseworkError(_("unknown status %(value)r", value=raw)) from None
        if target is CaseStatus.REFERRED:  # referral to labour inspection by another name: same rule
            refer_to_inspection(db, case, current_user.id)
            return _("Referred to labour inspection.")
        if target is CaseStatus.CLOSED:
            confirmed = request.form.get("confirm_unanswered") == "yes"
            try:
                unanswered = close_case(db, case, actor_id=current_user.id, confirm_unanswered=confirmed)
            except UnansweredClose:
                raise CaseworkError(UNANSWERED) from None
            if unanswered:
                return _("Case closed without a reply to the worker (recorded in the history).")
            return _("Case closed.")
        transition(db, case, target, actor_id=current_user.id)
        return _("Status changed to %(status)s.", status=code_label(target.value))

    return _apply(reference, change, anchor="#status")


def _int_field(name: str) -> int:
    raw = request.form.get(name, "").strip()
    if not (raw.isascii() and raw.isdigit()):
        raise FormError(FIELD_MISSING[name])
    return int(raw)


def _time_field(name: str, label: str) -> datetime:
    """A `datetime-local` field, read in the staff member's time zone (the form names it), in UTC."""
    raw = request.form.get(name, "").strip()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise FormError(_("%(field)s must be a date and time such as 2026-03-01T14:30", field=label)) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=staff_zone(get_session()))
    return value.astimezone(UTC)


def _reason() -> str | None:
    return request.form.get("reason", "").strip() or None


@bp.route("/cases/<reference>/assign", methods=["POST"])
@role_required(*ALL_CASES_ROLES)
def case_assign(reference: str) -> Any:
    def change(db: Session, case: Case) -> str:
        assign_case(db, case, _int_field("assignee_id"), current_user.id, _reason(), expected_version=_form_version())
        return _("Case assigned.")

    return _apply(reference, change, anchor="#assign")


@bp.route("/cases/<reference>/triage", methods=["POST"])
@role_required(*ALL_CASES_ROLES)
def case_triage(reference: str) -> Any:
    def change(db: Session, case: Case) -> str:
        form = request.form
        changed = override_triage(
            db,
            case,
            current_user.id,
            category=form.get("category") or None,
            urgency=form.get("urgency") or None,
            country=form.get("country"),
            sector=form.get("sector"),
            expected_version=_form_version(),
        )
        if not changed:
            return _("Triage unchanged.")
        fields = ", ".join(str(TRIAGE_FIELDS.get(field, field)) for field in sorted(changed))
        return _("Triage corrected: %(fields)s.", fields=fields)

    return _apply(reference, change, anchor="#triage")


@bp.route("/cases/<reference>/triage/confirm", methods=["POST"])
@role_required(*ALL_CASES_ROLES)
def case_triage_confirm(reference: str) -> Any:
    """ "Triage is right": the case leaves the needs-human-triage list (audited, `confirm_triage`)."""

    def change(db: Session, case: Case) -> str:
        confirm_triage(db, case, current_user.id, expected_version=_form_version())
        return _("Triage confirmed as right.")

    return _apply(reference, change, anchor="#why")


def language_name(code: str) -> str:
    """`tl` → "tl (Tagalog)", named in the console's language (CLDR); an unknown code as it is."""
    name = console_locale().languages.get(code.split("-")[0]) if code.replace("-", "").isalpha() else None
    return f"{code} ({name})" if name else code


def console_locale() -> Locale:
    """The Babel locale of the signed-in user's console language (Tagalog is CLDR's `fil`)."""
    return babel_locale(page_language())


@bp.route("/triage-accuracy")
@role_required(Role.ADMIN)
def triage_accuracy_page() -> Any:
    """Automatic triage against staff corrections, per language, cells under k suppressed (admins)."""
    period = request.args.get("period", "").strip()
    k = int(current_app.config["COMPLIANCE_K"])
    try:
        since, until = period_bounds(period) if period else (None, None)
    except TriageError as exc:
        return render_template("console/triage_accuracy.html", report=None, period=period, k=k, error=str(exc)), 400
    report = triage_confusion(get_session(), since=since, until=until, k=k)
    groups = [(_("All languages"), report["overall"])] + [
        (language_name(code), group) for code, group in report["languages"].items()
    ]
    return render_template("console/triage_accuracy.html", report=report, groups=groups, period=period, k=k)


@bp.route("/cases/<reference>/refer", methods=["POST"])
@role_required(*REFERRAL_ROLES)
def case_refer(reference: str) -> Any:
    def change(db: Session, case: Case) -> str:
        target = request.form.get("to", "")
        if target == "mediation":
            refer_to_mediation(
                db, case, _int_field("mediator_id"), current_user.id, _reason(), expected_version=_form_version()
            )
            return _("Referred to mediation.")
        if target == "inspection":
            refer_to_inspection(db, case, current_user.id, _reason(), expected_version=_form_version())
            return _("Referred to labour inspection.")
        raise FormError(_("choose mediation or labour inspection"))

    return _apply(reference, change, anchor="#refer")


@bp.route("/cases/<reference>/mediation", methods=["POST"])
@role_required(*CASE_ROLES)
def case_mediation_schedule(reference: str) -> Any:
    def change(db: Session, case: Case) -> str:
        schedule_mediation(
            db,
            case,
            _int_field("mediator_id"),
            _time_field("scheduled_at", _("the session date")),
            request.form.get("parties", ""),
            current_user.id,
            expected_version=_form_version(),
        )
        return _("Mediation session scheduled.")

    return _apply(reference, change, anchor="#mediation")


def parse_amount(raw: str, label: str) -> Decimal | None:
    """A number typed as the staff member's console language writes it ("1,500.50" in English,
    "1.500,50" in Spanish), or None when empty; FormError naming `label` otherwise."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return parse_decimal(raw, locale=console_locale(), strict=True)
    except NumberFormatError:
        example = amount_filter(Decimal("1500.50"))
        raise FormError(
            _(
                "%(field)s is not a number as written here (for example %(example)s): %(value)r",
                field=label,
                example=example,
                value=raw,
            )
        ) from None


@bp.app_template_filter("amount")
def amount_filter(value: Decimal) -> str:
    """An amount as the console's language writes it, so the form reads back what it shows."""
    return format_decimal(value, format="#,##0.00", locale=console_locale())


@bp.route("/cases/<reference>/outcome", methods=["POST"])
@role_required(*CASE_ROLES)
def case_outcome(reference: str) -> Any:
    def change(db: Session, case: Case) -> str:
        record_outcome(
            db,
            case,
            resolution_type=request.form.get("resolution_type", ""),
            remedies=request.form.getlist("remedies"),
            amount_recovered=parse_amount(request.form.get("amount_recovered", ""), _("The amount recovered")),
            currency=request.form.get("currency", "").strip().upper() or None,
            inspection_requested=request.form.get("inspection_requested") == "yes",
            sanction_reported=request.form.get("sanction_reported") == "yes",
            actor_id=current_user.id,
            expected_version=_form_version(),
        )
        return _("Outcome recorded.")

    return _apply(reference, change, anchor="#outcome")


@bp.route("/cases/<reference>/messages/<int:message_id>/translation", methods=["POST"])
@role_required(*CASE_ROLES)
def case_translation(reference: str, message_id: int) -> Any:
    def change(db: Session, case: Case) -> str:
        correct_case_message(
            db,
            case,
            message_id,
            request.form.get("text", ""),
            current_user.id,
            working_language=current_app.config["WORKING_LANGUAGE"],
            expected_version=_form_version(),
        )
        return _("Translation corrected.")

    return _apply(reference, change, anchor=f"#message-{message_id}")


def draft_reply(text: str, reporter_language: str | None) -> ReplyDraft:
    """The reply translated with this process's translator (nothing written)."""
    return prepare_reply(
        get_translator(),
        text,
        working_language=current_app.config["WORKING_LANGUAGE"],
        reporter_language=reporter_language,
    )


@bp.route("/cases/<reference>/reply", methods=["POST"])
@role_required(*CASE_ROLES)
def case_reply(reference: str) -> Any:
    """Two steps: `preview` shows the translation and back-translation (nothing written); `send` queues it."""
    text = request.form.get("text", "").strip()
    if request.form.get("action") == "preview":
        db = get_session()
        case = _load_case(db, reference)
        if not text:
            return _refuse(db, case, _("Write a reply first."), 400)
        preview = draft_reply(text, case.language)
        _audited_view(db, case)
        return render_template("console/case.html", preview=preview, **_case_context(db, case))

    def change(db: Session, case: Case) -> str:
        working = current_app.config["WORKING_LANGUAGE"]
        target = case.language or working
        meta: TranslationResult | dict[str, Any] | None = None
        if target == working:
            sent_text = text
        else:
            sent_text = request.form.get("sent_text", "").strip()
            if text and sent_text:  # translated again (from the service's cache): no form field claims an engine
                meta = reply_provenance(draft_reply(text, case.language), sent_text)
        queue_staff_reply(
            db, case, current_user.id, text, sent_text, meta, working_language=working, expected_version=_form_version()
        )
        return _("Reply queued for sending.")

    return _apply(reference, change, anchor="#conversation")
