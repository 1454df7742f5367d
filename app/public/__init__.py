"""Public reporter pages: the landing page (/), the web intake form (/report) and follow-up by
reference + PIN (/status).

Nothing keeps a reporter signed in (phones are shared): /status asks for the PIN each time,
and the page it shows carries a short-lived signed token for one action: add one message, or
confirm (or ask again for) the code that proves the number the reporter gave.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, make_response, render_template, request
from flask_babel import format_date, format_number, gettext
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.db import get_session
from app.i18n import country_choices, page_language
from app.public.landing import dial_string, emergency_numbers, public_number
from casework.cases import new_pin
from casework.intake import FIRST_RESPONSE_DAYS
from casework.models import Case, CaseStatus
from casework.privacy import lookup_hash
from casework.texts import N_, SECTOR_TEXTS, STATUS_TEXTS
from casework.verification import ResendOutcome, VerifyOutcome, pending_verification, resend_code, verify_contact
from casework.web_intake import (
    PIN_LOCK,
    add_followup,
    last_inbound_id,
    open_case_with_pin,
    staff_replies,
    submit_web_report,
)
from channels.web_form import (
    MAX_BODY_CHARS,
    MAX_EMPLOYER_CHARS,
    MAX_NAME_CHARS,
    FieldError,
    InvalidForm,
    country_codes,
    parse_followup,
    parse_report,
)

bp = Blueprint("public", __name__)

# How long the page shown after a right PIN may be used to add a message.
STATUS_VIEW_SECONDS = 30 * 60
# What a reporter refused by the rate limit reads above the form they sent, kept as they typed it.
TOO_MANY_TEXT = N_("Too many tries from this connection. Wait a few minutes and try again.")
KEPT_TEXT = N_("Nothing was sent yet. What you wrote is kept below.")


def count_against_limit() -> None:
    """Make this POST count against PUBLIC_RATE_LIMIT: a stored report or message, or a wrong PIN.

    Refused input (a 400) stores nothing and does not count, so one client's bad posts can't
    use up the limit of everyone behind the same address.
    """
    g.tulay_counts_against_limit = True


def _counts_against_limit(_response: Response) -> bool:
    return bool(g.get("tulay_counts_against_limit", False))


def _translated_errors(errors: dict[str, FieldError]) -> dict[str, str]:
    return {
        name: gettext(error.message, **{k: format_number(v) for k, v in error.params.items()})
        for name, error in errors.items()
    }


def _private(response: Response) -> Response:
    """Keep a page with case details out of caches and the back button's memory."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _report_form(
    values: dict[str, Any], errors: dict[str, str], status: int = 200, notice: list[str] | None = None
) -> tuple[str, int]:
    language = page_language()
    return render_template(
        "public/report.html",
        values=values,
        errors=errors,
        notice=notice or [],
        countries=country_choices(language, country_codes()),
        sectors=[(code, gettext(text)) for code, text in SECTOR_TEXTS.items()],
        limits={"body": MAX_BODY_CHARS, "employer": MAX_EMPLOYER_CHARS, "name": MAX_NAME_CHARS},
    ), status


# What the landing page calls each kind of number in app/data/emergency_numbers.yaml.
NUMBER_KIND_TEXTS = {
    "emergency": N_("Emergency"),
    "police": N_("Police"),
    "ambulance": N_("Ambulance"),
    "workers": N_("Help line for workers"),
}


@bp.route("/")
def landing() -> str:
    """What Tulay is, the ways to report, what happens next, rights and emergency numbers."""
    language = page_language()
    numbers = emergency_numbers()
    countries = [
        (name, [(gettext(NUMBER_KIND_TEXTS[kind]), shown, dial_string(shown)) for kind, shown in numbers[code].items()])
        for code, name in country_choices(language, frozenset(numbers))
    ]
    return render_template(
        "public/landing.html",
        sms=public_number(current_app.config["TWILIO_SMS_FROM"]),
        whatsapp=public_number(current_app.config["TWILIO_WHATSAPP_FROM"]),
        days=format_number(FIRST_RESPONSE_DAYS),
        countries=countries,
    )


@bp.route("/report", methods=["GET", "POST"])
def report() -> Any:
    if request.method == "GET":
        return _report_form({}, {})
    language = page_language()
    try:
        parsed = parse_report(request.form, language=language)
    except InvalidForm as invalid:
        # The page repeats what was typed (perhaps a name and number): keep it out of caches too.
        return _private(make_response(*_report_form(request.form.to_dict(), _translated_errors(invalid.errors), 400)))
    session = get_session()
    pin = new_pin()
    case = submit_web_report(
        session,
        parsed.message,
        pin=pin,
        country=parsed.country,
        sector=parsed.sector,
        employer=parsed.employer,
        name=parsed.name,
        contact_channel=parsed.contact_channel,
    )
    session.commit()
    count_against_limit()
    page = render_template(
        "public/report_done.html",
        reference=case.reference,
        pin=pin,
        received_on=format_date(case.created_at, "long"),
        days=format_number(FIRST_RESPONSE_DAYS),
        contact=parsed.message.sender is not None,
    )
    return _private(make_response(page))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="tulay-status-view")


def _view_token(case: Case) -> str:
    # Bound to the PIN's hash (a new PIN ends every page opened with the old one) and to the
    # case's newest message (a token adds one message: once one is added, it opens nothing).
    return _serializer().dumps(
        {"case": case.id, "pin": (case.pin_hash or "")[-16:], "last": last_inbound_id(get_session(), case)}
    )


def _case_for_token(token: str) -> Case | None:
    try:
        data = _serializer().loads(token, max_age=STATUS_VIEW_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("case"), int):
        return None
    case = get_session().get(Case, data["case"])
    if case is None or (case.pin_hash or "")[-16:] != data.get("pin"):
        return None
    if data.get("last") != last_inbound_id(get_session(), case):
        return None  # a message was added with this page already
    return case


def _status_form(error: str | None = None, status: int = 200, reference: str = "") -> Response:
    response = make_response(render_template("public/status.html", error=error, reference=reference), status)
    return _private(response)


# What the reporter reads after confirming (or asking again for) the code for their number.
VERIFY_NOTICES: dict[str, tuple[str, str]] = {
    VerifyOutcome.VERIFIED: ("done", N_("Your number is confirmed. Our replies will also come to your phone.")),
    VerifyOutcome.WRONG: ("error", N_("This code did not work. Check it, or ask for a new code.")),
    VerifyOutcome.LOCKED: ("error", N_("This code did not work. Check it, or ask for a new code.")),
    ResendOutcome.SENT: ("done", N_("We sent you a new code.")),
    ResendOutcome.TOO_SOON: ("error", N_("We cannot send a new code now. Try again later, or read our replies here.")),
    ResendOutcome.LIMIT: ("error", N_("We cannot send a new code now. Try again later, or read our replies here.")),
}


def _case_page(
    case: Case,
    *,
    errors: dict[str, str] | None = None,
    added: bool = False,
    body: str = "",
    status: int = 200,
    notice: list[str] | None = None,
    verify_outcome: str | None = None,
) -> Response:
    replies = [
        {"body": m.body, "date": format_date(m.created_at, "long")} for m in staff_replies(get_session(), case.id or 0)
    ]
    page = render_template(
        "public/case.html",
        reference=case.reference,
        status_text=gettext(STATUS_TEXTS.get(str(case.status), STATUS_TEXTS[CaseStatus.NEW.value])),
        opened_on=format_date(case.created_at, "long"),
        replies=replies,
        token=_view_token(case),
        errors=errors or {},
        added=added,
        body=body,
        notice=notice or [],
        verifying=pending_verification(get_session(), case) is not None,
        verify_notice=None
        if verify_outcome is None
        else (VERIFY_NOTICES[verify_outcome][0], gettext(VERIFY_NOTICES[verify_outcome][1])),
    )
    return _private(make_response(page, status))


@bp.route("/status", methods=["GET", "POST"])
def status() -> Any:
    if request.method == "GET":
        return _status_form()
    session = get_session()
    page = _case_action() if "token" in request.form else _open_case()
    # One commit for whatever the page did (failure count, audit events, the added message),
    # after every read: no transaction stays open while the response goes out.
    session.commit()
    return page


def _open_case() -> Response:
    opened = open_case_with_pin(get_session(), request.form.get("reference", "")[:32], request.form.get("pin", "")[:32])
    if opened is None:
        count_against_limit()  # a guess: the limit is what slows guessing across many cases
        return _status_form(
            gettext(
                "We could not open a case with this number and PIN. Check both and try "
                "again. After several wrong tries, wait %(minutes)s minutes.",
                minutes=format_number(int(PIN_LOCK.total_seconds() // 60)),
            ),
            400,
        )
    return _case_page(opened)


def _case_action() -> Response:
    case = _case_for_token(request.form.get("token", ""))
    if case is None:
        return _status_form(gettext("This page has expired. Enter your case number and PIN again."), 400)
    action = request.form.get("action", "add")
    if action == "verify":
        outcome = verify_contact(get_session(), case, request.form.get("code", "")[:32])
        if outcome is VerifyOutcome.NOTHING_PENDING:
            return _case_page(case)
        return _case_page(case, verify_outcome=outcome, status=200 if outcome is VerifyOutcome.VERIFIED else 400)
    if action == "resend":
        resent = resend_code(get_session(), case)
        if resent is ResendOutcome.NOTHING_PENDING:
            return _case_page(case)
        return _case_page(case, verify_outcome=resent, status=200 if resent is ResendOutcome.SENT else 429)
    if action != "add":
        return _case_page(case, status=400)
    try:
        inbound = parse_followup(request.form, language=page_language())
    except InvalidForm as invalid:
        return _case_page(
            case, errors=_translated_errors(invalid.errors), body=request.form.get("body", ""), status=400
        )
    add_followup(get_session(), case, inbound)
    count_against_limit()
    return _case_page(case, added=True)


@bp.errorhandler(RateLimitExceeded)
def _too_many(_exc: RateLimitExceeded) -> Response:
    """429: the page the reporter posted from, in their language, with what they typed kept.

    Nothing of the post is stored; Flask-Limiter adds Retry-After.
    """
    form = request.form
    if request.endpoint == "public.report":
        notice = [gettext(TOO_MANY_TEXT), gettext(KEPT_TEXT)]
        return _private(make_response(*_report_form(form.to_dict(), {}, 429, notice)))
    if "token" in form:
        case = _case_for_token(form.get("token", ""))
        if case is not None:
            notice = [gettext(TOO_MANY_TEXT), gettext(KEPT_TEXT)]
            return _case_page(case, body=form.get("body", ""), status=429, notice=notice)
    return _status_form(gettext(TOO_MANY_TEXT), 429, reference=form.get("reference", "")[:32])


def client_key() -> str:
    """The rate-limit key for this client: a keyed hash, so Redis never holds a reporter's address.

    Behind a reverse proxy, TRUSTED_PROXY_HOPS makes this the client's address (werkzeug's
    ProxyFix, `create_app`); otherwise every client behind the proxy shares one key.
    """
    return lookup_hash("client", request.remote_addr or "unknown")


def init_app(app: Flask) -> None:
    """Register the pages and rate-limit their POSTs per client and page, counted in the app's Redis."""
    emergency_numbers()  # a malformed data file stops the start, rather than failing the landing page
    app.register_blueprint(bp)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "tulay-ratelimit")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Redis down must not stop a report from being stored (the database is the durable record).
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # Flask-Limiter logs each breach with the client key at INFO; keep only its warnings.
    logging.getLogger("flask-limiter").setLevel(logging.WARNING)
    limiter = Limiter(
        client_key,
        storage_uri="redis://",
        strategy="moving-window",
        storage_options={"connection_pool": app.extensions["tulay.queues"].connection.connection_pool},
    )
    # Checked before each POST, counted after it only when the page says so (count_against_limit).
    limiter.limit(app.config["PUBLIC_RATE_LIMIT"], methods=["POST"], deduct_when=_counts_against_limit)(bp)
    limiter.init_app(app)
    app.extensions["tulay.limiter"] = limiter
