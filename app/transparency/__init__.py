"""`GET /transparency`: the public compliance dashboard, server-rendered SVG charts, no JS, no login."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.compliance_cache import published_summary
from casework.compliance import BAND_ORDER, InvalidFilter, parse_filters

bp = Blueprint("transparency", __name__)

LABELS: dict[str, Any] = {
    "wage_theft": _l("Wage theft"), "document_confiscation": _l("Document confiscation"),
    "recruitment_fees": _l("Recruitment fees or debt"), "contract_substitution": _l("Contract substitution"),
    "unsafe_work": _l("Unsafe work or injury"), "harassment_violence": _l("Harassment or violence"),
    "forced_labour": _l("Forced labour indicators"), "housing": _l("Housing"), "other": _l("Other"),
    "sms": _l("SMS"), "whatsapp": _l("WhatsApp"), "web": _l("Web form"),
    "remedied": _l("Remedied"), "partially_remedied": _l("Partly remedied"), "not_remedied": _l("Not remedied"),
    "referred": _l("Referred"), "withdrawn": _l("Withdrawn"),
    "wages_paid": _l("Wages paid"), "documents_returned": _l("Documents returned"),
    "fees_refunded": _l("Fees refunded"), "contract_honoured": _l("Contract honoured"),
    "compensation_paid": _l("Compensation paid"), "repatriation": _l("Repatriation"),
    "not_published": _l("Not published (too few cases)"),
    "yes": _l("Yes"), "no": _l("No"),
    "0": _l("Same day"), "1_2": _l("1 to 2 days"), "3_7": _l("3 to 7 days"), "8_30": _l("8 to 30 days"),
    "31_plus": _l("More than 30 days"),
    "0_29": _l("Under 30 days"), "30_89": _l("30 to 89 days"), "90_179": _l("90 to 179 days"),
    "180_364": _l("180 to 364 days"), "365_plus": _l("A year or more"),
}


def label(code: str | None) -> str:
    if code is None:
        return str(_l("Not published (too few cases)"))
    return str(LABELS.get(code, code))


def bars(cells: dict[str, int | None], order: list[str] | None = None) -> list[dict[str, Any]]:
    """Chart rows (label, value or None when suppressed), biggest first unless an order is given."""
    keys = [k for k in order if k in cells] + [k for k in cells if k not in order] if order else \
        sorted(cells, key=lambda k: (cells[k] is None, -(cells[k] or 0), k))
    return [{"code": key, "label": label(key), "value": cells[key]} for key in keys]


@bp.get("/transparency")
def dashboard() -> tuple[str, int] | str:
    """The dashboard for the chosen period (and optional dimension filters)."""
    params = {key: value for key, value in request.args.items() if key != "lang"}
    if "period" in params and not params["period"].strip():
        params.pop("period")
    if params.get("start") or params.get("end"):  # the form's two month fields
        params["period"] = f"{params.get('start') or '2000-01'}..{params.get('end') or '2100-12'}"
    params.pop("start", None)
    params.pop("end", None)
    try:
        filters = parse_filters(params)
    except InvalidFilter as exc:
        return render_template("transparency/dashboard.html", error=str(exc), summary=None, filters=None), 400
    summary = published_summary(filters)
    charts = [
        (_("Cases by category"), bars(summary["by"]["category"])),
        (_("Cases by sector"), bars(summary["by"]["sector"])),
        (_("Cases by country of work"), bars(summary["by"]["country"])),
        (_("Cases by channel"), bars(summary["by"]["channel"])),
        (_("Outcomes"), bars(summary["by"]["resolution_type"])),
        (_("Remedies obtained"), bars(summary["remedies"])),
        (_("Cases with money recovered, by amount"), bars(summary["amounts_recovered"])),
        (_("Referred to labour inspection"), bars(summary["inspection_requested"], ["yes", "no"])),
        (_("Sanction reported"), bars(summary["sanction_reported"], ["yes", "no"])),
        (_("Days to first response"), bars(summary["by"]["days_to_first_response_band"],
                                           BAND_ORDER["days_to_first_response_band"])),
        (_("Days to remedy"), bars(summary["by"]["days_to_remedy_band"], BAND_ORDER["days_to_remedy_band"])),
    ]
    monthly = [{"code": m, "label": m if m != "not_published" else label(m), "value": v}
               for m, v in summary["monthly"].items() if m != "not_published"]
    return render_template("transparency/dashboard.html", summary=summary, charts=charts, monthly=monthly,
                           filters=filters, error=None, label=label,
                           start=filters.start or "", end=filters.end or "")
