"""Console pages for mediation: a session's result with the agreement's terms, its amendment,
and each mediator's agenda (sessions to hold, agreements to follow up)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session, col, select

from app.console import bp
from app.console.views import FormError, _apply, _form_version, _time_field, parse_amount
from app.db import get_session
from app.security import role_required
from casework.access import ALL_CASES_ROLES, CASE_ROLES
from casework.mediation import (
    RemedyTerm,
    amend_mediation_result,
    mediator_agenda,
    record_mediation_result,
)
from casework.models import Case, MediationSession, Role, StaffUser, utcnow


def _date_field(raw: str, label: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FormError(_("%(field)s must be a date such as 2026-03-15", field=label)) from None


def _terms() -> list[RemedyTerm]:
    """The agreement's remedy lines from the form's parallel columns; rows without a remedy are blank."""
    columns = [request.form.getlist(f"term_{name}") for name in ("remedy", "amount", "currency", "payer", "due")]
    rows = max((len(column) for column in columns), default=0)
    terms: list[RemedyTerm] = []
    for index in range(rows):
        remedy, amount, currency, payer, due = (column[index] if index < len(column) else "" for column in columns)
        if not remedy.strip():
            continue
        number = len(terms) + 1
        terms.append(
            RemedyTerm(
                remedy=remedy.strip(),
                payer=payer.strip(),
                amount=parse_amount(amount, _("Remedy line %(num)d: the amount", num=number)),
                currency=currency.strip().upper() or None,
                due_on=_date_field(due, _("Remedy line %(num)d: the due date", num=number)),
            )
        )
    return terms


def _session_of(db: Session, case: Case, session_id: int) -> MediationSession:
    item = db.get(MediationSession, session_id)
    if item is None or item.case_id != case.id:
        raise FormError(_("no such mediation session on this case"))
    return item


def _result_fields() -> dict[str, Any]:
    """What the result and amendment forms share, parsed."""
    return {
        "held_at": _time_field("held_at", "the date held"),
        "notes": request.form.get("notes"),
        "result": request.form.get("result", ""),
        "actor_id": current_user.id,
        "terms": _terms(),
        "follow_up_on": _date_field(request.form.get("follow_up_on", ""), _("The follow-up date")),
        "expected_version": _form_version(),
    }


@bp.route("/cases/<reference>/mediation/<int:session_id>", methods=["POST"])
@role_required(*CASE_ROLES)
def case_mediation_result(reference: str, session_id: int) -> Any:
    def change(db: Session, case: Case) -> str:
        record_mediation_result(db, _session_of(db, case, session_id), **_result_fields())
        return _("Mediation result recorded.")

    return _apply(reference, change, anchor="#mediation")


@bp.route("/cases/<reference>/mediation/<int:session_id>/amend", methods=["POST"])
@role_required(*CASE_ROLES)
def case_mediation_amend(reference: str, session_id: int) -> Any:
    def change(db: Session, case: Case) -> str:
        fields = _result_fields()
        amend_mediation_result(db, _session_of(db, case, session_id), reason=request.form.get("reason", ""), **fields)
        return _("Mediation result amended (the change and its reason are in the history).")

    return _apply(reference, change, anchor="#mediation")


@bp.route("/mediation")
@role_required(*CASE_ROLES)
def mediation_agenda() -> str:
    """A mediator's own sessions and follow-ups; admins and ombudspersons see everyone's, or one
    mediator's with `?mediator=ID`."""
    db = get_session()
    raw = request.args.get("mediator", "")
    if current_user.role in ALL_CASES_ROLES:
        mediator_id = int(raw) if raw.isascii() and raw.isdigit() else None
    else:
        mediator_id = current_user.id
    agenda = mediator_agenda(db, mediator_id)
    case_ids = {item.case_id for item in agenda.sessions + agenda.follow_ups}
    cases = {c.id: c for c in db.exec(select(Case).where(col(Case.id).in_(case_ids)))} if case_ids else {}
    mediators = db.exec(select(StaffUser).where(StaffUser.role == Role.MEDIATOR)).all()
    return render_template(
        "console/mediation.html",
        agenda=agenda,
        cases=cases,
        names={u.id: u.display_name for u in mediators},
        mediators=sorted(mediators, key=lambda u: u.display_name),
        chosen=mediator_id,
        can_choose=current_user.role in ALL_CASES_ROLES,
        now=utcnow(),
        today=utcnow().date(),
    )
