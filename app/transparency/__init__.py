"""`GET /transparency`: the public compliance dashboard, server-rendered SVG charts, no JS, no login."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.i18n import country_choices, page_language
from app.labels import LABELS
from app.transparency.release import ReleaseNotReady, published_summary
from casework.compliance.filters import InvalidFilter, parse_filters
from casework.compliance.schema import AMOUNT_BANDS, BAND_ORDER
from casework.texts import SECTOR_TEXTS

bp = Blueprint("transparency", __name__)


# Each amount band's (lowest amount, amount it stays under or None when open-ended).
AMOUNT_BOUNDS: dict[str, tuple[int, int | None]] = {
    code: (0 if index == 0 else int(AMOUNT_BANDS[index - 1][0] or 0), None if upper is None else int(upper))
    for index, (upper, code) in enumerate(AMOUNT_BANDS)
}


def label(code: str | None, names: Mapping[str, Any] = LABELS) -> str:
    if code is None or code == "not_published":
        return str(_l("Not published (too few cases)"))
    return str(names.get(code, code))


def bars(
    cells: dict[str, int | None], order: list[str] | None = None, names: Mapping[str, Any] = LABELS
) -> list[dict[str, Any]]:
    """Chart rows (label, value or None when suppressed), biggest first unless an order is given."""
    keys = (
        [k for k in order if k in cells] + [k for k in cells if k not in order]
        if order
        else sorted(cells, key=lambda k: (cells[k] is None, -(cells[k] or 0), k))
    )
    return [{"code": key, "label": label(key, names), "value": cells[key]} for key in keys]


def flag_bars(cells: dict[str, int | None]) -> list[dict[str, Any]]:
    """Yes / no / not published rows of a flag. A yes or no that isn't known (some rows don't
    publish the flag) reads "not published", not "suppressed (fewer than k cases)"."""
    rows = bars(cells, ["yes", "no", "not_published"])
    if "not_published" in cells:
        for row in rows:
            if row["value"] is None and row["code"] in ("yes", "no"):
                row["note"] = label("not_published")
    return rows


def sector_names() -> dict[str, str]:
    """Sector codes as the report form names them, in the page's language."""
    return {code: _(text) for code, text in SECTOR_TEXTS.items()}


def country_names(codes: Iterable[str]) -> dict[str, str]:
    """ISO country codes named in the page's language (Babel's locale data, as on the report form)."""
    return dict(country_choices(page_language(), frozenset(c for c in codes if c != "not_published")))


def amount_label(key: str) -> str:
    """An amounts cell ("MYR 100_999") as words and numbers in the page's language, e.g. 100 to 999 MYR."""
    currency, _sep, band_code = key.partition(" ")
    if band_code not in AMOUNT_BOUNDS:
        return key
    low, upper = AMOUNT_BOUNDS[band_code]
    if low == 0 and upper is not None:
        return _("Under %(amount)s %(currency)s", amount=format_number(upper), currency=currency)
    if upper is None:
        return _("%(amount)s %(currency)s or more", amount=format_number(low), currency=currency)
    # An en dash (U+2013), as typographers write a range of numbers.
    return _(
        "%(low)s\u2013%(high)s %(currency)s", low=format_number(low), high=format_number(upper - 1), currency=currency
    )


def amount_order(keys: Iterable[str]) -> list[str]:
    """Amount cells by currency, then from the smallest band up."""
    bands = BAND_ORDER["amount_band"]

    def position(key: str) -> tuple[str, int]:
        currency, _sep, band_code = key.partition(" ")
        return currency, bands.index(band_code) if band_code in bands else len(bands)

    return sorted(keys, key=position)


@bp.errorhandler(ReleaseNotReady)
def _not_ready(exc: ReleaseNotReady) -> tuple[str, int, dict[str, str]]:
    """503 while a worker computes the first release: the page says so in the reader's language."""
    page = render_template(
        "transparency/dashboard.html",
        error=_("The figures are being prepared. Please try again in a minute."),
        unavailable=True,
        summary=None,
        filters=None,
    )
    return page, 503, {"Retry-After": str(exc.retry_after)}


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
        error = _(exc.message, **exc.params)
        return render_template("transparency/dashboard.html", error=error, summary=None, filters=None), 400
    summary = published_summary(filters)
    amounts = summary["amounts_recovered"]
    item = _("Item")
    charts = [
        (_("Cases by category"), bars(summary["by"]["category"]), _("Category")),
        (_("Cases by sector"), bars(summary["by"]["sector"], names=sector_names()), item),
        (
            _("Cases by country of work"),
            bars(summary["by"]["country"], names=country_names(summary["by"]["country"])),
            item,
        ),
        (_("Cases by channel"), bars(summary["by"]["channel"]), item),
        (_("Outcomes"), bars(summary["by"]["resolution_type"]), item),
        (_("Remedies obtained"), bars(summary["remedies"]), item),
        (
            _("Cases with money recovered, by amount"),
            bars(amounts, amount_order(amounts), names={key: amount_label(key) for key in amounts}),
            item,
        ),
        (_("Referred to labour inspection"), flag_bars(summary["inspection_requested"]), item),
        (_("Sanction reported"), flag_bars(summary["sanction_reported"]), item),
        (
            _("Days to first response"),
            bars(summary["by"]["days_to_first_response_band"], BAND_ORDER["days_to_first_response_band"]),
            item,
        ),
        (_("Days to remedy"), bars(summary["by"]["days_to_remedy_band"], BAND_ORDER["days_to_remedy_band"]), item),
    ]
    monthly = [
        {"code": m, "label": m if m != "not_published" else label(m), "value": v}
        for m, v in summary["monthly"].items()
        if m != "not_published"
    ]
    return render_template(
        "transparency/dashboard.html",
        summary=summary,
        charts=charts,
        monthly=monthly,
        filters=filters,
        error=None,
        label=label,
        start=filters.start or "",
        end=filters.end or "",
    )
