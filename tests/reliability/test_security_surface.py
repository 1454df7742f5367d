"""Security surface of every route: headers on every response, cookie flags, numeric fields, and
https forms in a real browser.

`PROBES` names every route of `app.url_map` (anonymous, and signed in where that applies); a
route added without a row fails `test_probes_cover_every_route`, so no new page can skip
these checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from app import jobs
from app.console import CONTENT_SECURITY_POLICY as CONSOLE_CSP
from app.db import get_session_factory
from app.headers import CONTENT_SECURITY_POLICY, HSTS
from app.media import store_media
from app.security import issue_api_token
from casework import cases
from casework.mediation import schedule_mediation
from casework.models import (
    ApiToken,
    Case,
    CaseStatus,
    ChannelKind,
    Direction,
    MediaAttachment,
    Message,
    Reporter,
    Role,
    Route,
    StaffNotification,
    StaffUser,
    utcnow,
)
from tests.app.console_support import PASSWORD, sign_in, staff_with_password
from tests.app.public_support import REPORT
from tests.conftest import serve_over_http
from tests.factories import make_staff

HTTPS = "https://tulay.test"
HTTP = "http://localhost:5000"
PIN = "482913"
TWILIO_AUTH_TOKEN = "surface-test-auth-token"
SETTINGS = {
    "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
    "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
    "TWILIO_SMS_FROM": "+15005550006",
    "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886",
    "TWILIO_API_BASE_URL": "http://127.0.0.1:9",  # never called: no job runs in these tests
    "PUBLIC_RATE_LIMIT": "1000 per minute",
}
PAYLOADS = Path(__file__).resolve().parent.parent / "channels" / "payloads"
# Policies under which a browser never sends one of our URLs to another site.
PRIVATE_REFERRER_POLICIES = ("no-referrer", "same-origin")
# Who sends each family's probes: everyone anonymously, and the family's own signed-in caller.
SIGNED_IN = {"console": "staff", "api": "token", "twilio": "twilio"}


def twilio_form(name: str) -> dict[str, str]:
    form: dict[str, str] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return form


@dataclass(frozen=True)
class Probe:
    """One request to one route; `private` pages show case data or secrets (must be no-store)."""

    label: str
    family: str
    method: str
    rule: str
    path: str
    private: bool = False
    form: Mapping[str, str] | None = None
    json: Mapping[str, Any] | None = None


def console(label: str, method: str, rule: str, form: Mapping[str, str] | None = None) -> Probe:
    path = (
        rule.replace("<reference>", "{ref}")
        .replace("<int:session_id>", "{sid}")
        .replace("<int:message_id>", "{mid}")
        .replace("<int:attachment_id>", "{aid}")
    )
    path = path.replace("<int:user_id>", "{spare}").replace("<int:token_id>", "{spare_token}")
    path = path.replace("<token>", "tlr_not-a-real-reset-token")
    return Probe(label, "console", method, rule, path, private=True, form=form)


def api(label: str, method: str, rule: str, body: Mapping[str, Any] | None = None) -> Probe:
    path = (
        rule.replace("<reference>", "{ref}")
        .replace("<int:session_id>", "{sid}")
        .replace("<int:message_id>", "{mid}")
        .replace("<int:attachment_id>", "{aid}")
    )
    return Probe(label, "api", method, rule, path, private=True, json=body)


CASE = "/console/cases/<reference>"
API_CASE = "/api/v1/cases/<reference>"
V = {"version": "{version}"}
PROBES = [
    Probe("landing page", "public", "GET", "/", "/"),
    Probe("report form", "public", "GET", "/report", "/report"),
    Probe("report sent", "public", "POST", "/report", "/report", private=True, form=REPORT),
    Probe("report refused", "public", "POST", "/report", "/report", private=True, form={"body": ""}),
    Probe("status form", "public", "GET", "/status", "/status", private=True),
    Probe(
        "status answer", "public", "POST", "/status", "/status", private=True, form={"reference": "{ref}", "pin": PIN}
    ),
    Probe("dashboard", "transparency", "GET", "/transparency", "/transparency"),
    Probe("records", "compliance_api", "GET", "/api/v1/compliance/records", "/api/v1/compliance/records"),
    Probe("summary", "compliance_api", "GET", "/api/v1/compliance/summary", "/api/v1/compliance/summary"),
    Probe("health", "health", "GET", "/healthz", "/healthz"),
    Probe("metrics", "health", "GET", "/metrics", "/metrics"),
    Probe("stylesheet", "static", "GET", "/static/<path:filename>", "/static/public.css"),
    Probe("sms", "twilio", "POST", "/channels/twilio/sms", "/channels/twilio/sms", form=twilio_form("sms_basic")),
    Probe(
        "whatsapp",
        "twilio",
        "POST",
        "/channels/twilio/whatsapp",
        "/channels/twilio/whatsapp",
        form=twilio_form("whatsapp_text"),
    ),
    Probe(
        "delivery status",
        "twilio",
        "POST",
        "/channels/twilio/status",
        "/channels/twilio/status",
        form=twilio_form("status_delivered"),
    ),
    console("sign-in form", "GET", "/console/login"),
    console("sign-in", "POST", "/console/login", {"email": "{email}", "password": PASSWORD}),
    console("code form", "GET", "/console/login/code"),
    console("code", "POST", "/console/login/code", {"code": "123456"}),
    console("sign-out", "POST", "/console/logout"),
    console("totp enrolment", "GET", "/console/account/totp"),
    console("totp confirmation", "POST", "/console/account/totp", {"code": "000000"}),
    console("shortcuts", "GET", "/console/shortcuts"),
    console("queue", "GET", "/console/"),
    console("bulk assignment", "POST", "/console/bulk-assign", {"reference": "AAAA-AAAA", "assignee_id": "1"}),
    console("settings", "GET", "/console/settings"),
    console("time zone", "POST", "/console/settings", {"time_zone": "Asia/Manila"}),
    console("case page", "GET", CASE),
    console("audit trail", "GET", f"{CASE}/audit"),
    console("note", "POST", f"{CASE}/notes", {"body": "called the employer", **V}),
    console("status change", "POST", f"{CASE}/status", {"to": "investigating", **V}),
    console("assign", "POST", f"{CASE}/assign", {"assignee_id": "{mediator}", **V}),
    console("triage", "POST", f"{CASE}/triage", {"urgency": "high", **V}),
    console("triage confirmed", "POST", f"{CASE}/triage/confirm", V),
    console("triage accuracy", "GET", "/console/triage-accuracy"),
    console("refer", "POST", f"{CASE}/refer", {"to": "inspection", **V}),
    console(
        "schedule mediation",
        "POST",
        f"{CASE}/mediation",
        {"mediator_id": "{mediator}", "scheduled_at": "2030-01-01T10:00", "parties": "worker, employer", **V},
    ),
    console(
        "mediation result",
        "POST",
        f"{CASE}/mediation/<int:session_id>",
        {"held_at": "2030-01-02T10:00", "result": "agreement", **V},
    ),
    console(
        "mediation amend",
        "POST",
        f"{CASE}/mediation/<int:session_id>/amend",
        {"held_at": "2030-01-02T10:00", "result": "agreement", "reason": "typo", **V},
    ),
    console("mediation agenda", "GET", "/console/mediation"),
    console("outcome", "POST", f"{CASE}/outcome", {"resolution_type": "withdrawn", **V}),
    console("translation", "POST", f"{CASE}/messages/<int:message_id>/translation", {"text": "Unpaid wages", **V}),
    console("reply", "POST", f"{CASE}/reply", {"text": "We are on it", "action": "send", **V}),
    console("attachment", "GET", f"{CASE}/attachments/<int:attachment_id>"),
    console("own account", "GET", "/console/account"),
    console("own password", "POST", "/console/account/password", {"current_password": "wrong"}),
    console("revoke own token", "POST", "/console/account/tokens/<int:token_id>/revoke"),
    console("password reset form", "GET", "/console/password-reset/<token>"),
    console(
        "password reset", "POST", "/console/password-reset/<token>", {"new_password": "x", "confirm_password": "x"}
    ),
    console("users", "GET", "/console/users"),
    console("user role", "POST", "/console/users/<int:user_id>/role", {"role": "analyst"}),
    console("user reset link", "POST", "/console/users/<int:user_id>/password-reset"),
    console("user totp reset", "POST", "/console/users/<int:user_id>/totp-reset"),
    console("user deactivate", "POST", "/console/users/<int:user_id>/deactivate"),
    console("user reactivate", "POST", "/console/users/<int:user_id>/reactivate"),
    console("inbox", "GET", "/console/inbox"),
    console("mark all read", "POST", "/console/inbox/read-all"),
    Probe(
        "mark read",
        "console",
        "POST",
        "/console/inbox/<int:notification_id>/read",
        "/console/inbox/{nid}/read",
        private=True,
    ),
    api("queue", "GET", "/api/v1/cases"),
    api("case", "GET", API_CASE),
    api("audit trail", "GET", f"{API_CASE}/audit"),
    api("reply", "POST", f"{API_CASE}/reply", {"text": "We are on it"}),
    api("translation", "POST", f"{API_CASE}/messages/<int:message_id>/translation", {"text": "Unpaid wages"}),
    api("assign", "POST", f"{API_CASE}/assign", {"assignee_id": "{mediator}"}),
    api("transition", "POST", f"{API_CASE}/transition", {"to": "investigating"}),
    api("refer", "POST", f"{API_CASE}/refer", {"to": "inspection"}),
    api("note", "POST", f"{API_CASE}/notes", {"body": "called the employer"}),
    api(
        "schedule mediation",
        "POST",
        f"{API_CASE}/mediation-sessions",
        {"mediator_id": "{mediator}", "scheduled_at": "2030-01-01T10:00:00+00:00", "parties": "worker"},
    ),
    api(
        "mediation result",
        "POST",
        f"{API_CASE}/mediation-sessions/<int:session_id>/result",
        {"held_at": "2030-01-02T10:00:00+00:00", "result": "agreement"},
    ),
    api(
        "mediation amend",
        "POST",
        f"{API_CASE}/mediation-sessions/<int:session_id>/amend",
        {"held_at": "2030-01-02T10:00:00+00:00", "result": "agreement", "reason": "typo"},
    ),
    api("outcome", "POST", f"{API_CASE}/outcome", {"resolution_type": "withdrawn"}),
    api("attachment", "GET", f"{API_CASE}/attachments/<int:attachment_id>"),
    api("triage", "POST", f"{API_CASE}/triage", {"urgency": "high"}),
    api("triage confirmed", "POST", f"{API_CASE}/triage/confirm", {}),
    api("read routing rules", "GET", "/api/v1/routing-rules"),
    api("save routing rules", "PUT", "/api/v1/routing-rules", {"yaml": "rules:\n- {name: all, route: ombudsperson}\n"}),
    Probe("openapi document", "api", "GET", "/api/v1/openapi.json", "/api/v1/openapi.json"),
]
FAMILIES = sorted({probe.family for probe in PROBES})


def test_probes_cover_every_route(surface: World) -> None:
    routes = {
        (method, rule.rule)
        for rule in surface.app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    probed = {(probe.method, probe.rule) for probe in PROBES}
    assert routes - probed == set(), "add a probe for each new route"
    assert probed - routes == set(), "these probes name routes that no longer exist"


# --- the world the probes run against ---------------------------------------------------------


@dataclass
class World:
    """An app with one case (known PIN, a message, a mediation session), an admin and a token."""

    app: Flask
    base: str
    admin: StaffUser
    token: str
    ids: dict[str, Any]

    def fill(self, value: Any) -> Any:
        """Put the world's ids into a probe's path or body ("{mediator}" alone keeps its type)."""
        ids = {**self.ids, "version": self.case_version()}
        if isinstance(value, str):
            exact = re.fullmatch(r"\{(\w+)\}", value)
            if exact and exact.group(1) in ids:
                return ids[exact.group(1)]
            return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), m.group(0))), value)
        if isinstance(value, Mapping):
            return {key: self.fill(item) for key, item in value.items()}
        return value

    def case_version(self) -> int:
        with Session(self.app.extensions["tulay.engine"]) as db:
            return db.exec(select(Case.version).where(Case.reference == self.ids["ref"])).one()

    def client(self, who: str) -> FlaskClient:
        client = self.app.test_client()
        if who == "staff":
            # The session Flask-Login writes at sign-in, set for the host the requests go to.
            sign_in(client, self.admin, base_url=self.base)
        return client

    def send(self, probe: Probe, who: str) -> TestResponse:
        path = self.fill(probe.path)
        form = {key: str(value) for key, value in self.fill(probe.form or {}).items()}
        headers = {}
        if who == "token":
            headers["Authorization"] = f"Bearer {self.token}"
        if who == "twilio":
            headers["X-Twilio-Signature"] = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(
                self.app.config["PUBLIC_BASE_URL"] + path, form
            )
        body: dict[str, Any] = {"json": self.fill(probe.json)} if probe.json is not None else {"data": form}
        response = self.client(who).open(path, method=probe.method, base_url=self.base, headers=headers, **body)
        response.close()  # a static file is streamed from an open file
        return response


def publish_release(app: Flask) -> None:
    """What the worker's refresh job does, so the dashboard and open data answer 200, not 503."""
    with app.app_context():
        jobs.refresh_compliance_release()


def build_world(app: Flask, base: str) -> World:
    with get_session_factory(app)() as db:
        admin = staff_with_password(db, Role.ADMIN, "admin@tulay.test")
        mediator = make_staff(db, Role.MEDIATOR)
        spare = make_staff(db, Role.ANALYST)  # the account the user-management probes act on
        token = issue_api_token(db, admin)
        issue_api_token(db, spare)
        reporter = Reporter(contact="+639171234567", contact_hash="surface-reporter", language="en")
        db.add(reporter)
        db.flush()
        case = cases.open_case(db, reporter=reporter, channel=ChannelKind.SMS, language="en", pin=PIN)
        case.status, case.route, case.assignee_id = CaseStatus.ASSIGNED, Route.MEDIATION, mediator.id
        message = Message(
            case_id=case.id,
            reporter_id=reporter.id,
            direction=Direction.INBOUND,
            channel=ChannelKind.SMS,
            body="Hindi binabayaran ang sahod ko",
            language="tl",
        )
        db.add(message)
        db.flush()
        assert mediator.id is not None and message.id is not None
        attachment = MediaAttachment(message_id=message.id, content_type="image/png", fetched_at=utcnow())
        db.add(attachment)
        db.flush()
        assert attachment.id is not None
        with app.app_context():
            attachment.stored_path = store_media(message.id, attachment.id, b"%PDF-1.7 claims to be a png")
        meeting = schedule_mediation(db, case, mediator.id, utcnow() + timedelta(days=1), "worker", admin.id)
        notification = StaffNotification(recipient_id=admin.id, kind="assigned", case_id=case.id, event_key="surface")
        db.add(notification)
        db.commit()
        ids = {
            "ref": case.reference,
            "mid": message.id,
            "sid": meeting.id,
            "aid": attachment.id,
            "mediator": mediator.id,
            "email": admin.email,
            "spare": spare.id,
            "spare_token": db.exec(select(ApiToken.id).where(ApiToken.user_id == spare.id)).one(),
            "nid": notification.id,
        }
    publish_release(app)
    return World(app=app, base=base, admin=admin, token=token, ids=ids)


@pytest.fixture
def surface(make_app: Any) -> World:
    return build_world(make_app(**SETTINGS, PUBLIC_BASE_URL=HTTPS), HTTPS)


# --- 1. security headers ----------------------------------------------------------------------


def header_problems(response: TestResponse, *, csp: str, https: bool, private: bool) -> list[str]:
    """What is wrong with one response's security headers (empty: nothing)."""
    headers = response.headers
    problems = []
    policy = headers.get("Content-Security-Policy", "")
    if policy != csp:
        problems.append(f"CSP {policy!r}")
    if "frame-ancestors 'none'" not in policy or "unsafe-" in policy or "base-uri 'none'" not in policy:
        problems.append("CSP allows framing, inline code or a foreign base")
    for name, wanted in (
        ("X-Content-Type-Options", ("nosniff",)),
        ("X-Frame-Options", ("DENY",)),
        ("Referrer-Policy", PRIVATE_REFERRER_POLICIES),
    ):
        if headers.get(name) not in wanted:
            problems.append(f"{name} {headers.get(name)!r}")
    if https and headers.get("Strict-Transport-Security") != HSTS:
        problems.append(f"HSTS {headers.get('Strict-Transport-Security')!r}")
    if not https and "Strict-Transport-Security" in headers:
        problems.append("HSTS over plain http in development")
    if private and "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"Cache-Control {headers.get('Cache-Control')!r} on a page with case data")
    if response.status_code >= 500:
        problems.append(f"status {response.status_code}")
    return problems


@pytest.mark.parametrize("family", FAMILIES)
def test_every_response_of_every_route_carries_the_security_headers(surface: World, family: str) -> None:
    failures = []
    sent = 0
    callers = ("anonymous", SIGNED_IN[family]) if family in SIGNED_IN else ("anonymous",)
    for probe in (p for p in PROBES if p.family == family):
        for who in callers:
            response = surface.send(probe, who)
            sent += 1
            csp = CONSOLE_CSP if family == "console" else CONTENT_SECURITY_POLICY
            problems = header_problems(response, csp=csp, https=True, private=probe.private)
            if problems:
                failures.append(
                    f"{probe.label} as {who} ({probe.method} {probe.path} -> "
                    f"{response.status_code}): {'; '.join(problems)}"
                )
    assert sent > 0
    assert failures == [], "\n".join(failures)


def test_development_over_http_sends_no_hsts_but_every_other_header(make_app: Any) -> None:
    world = build_world(make_app(**SETTINGS, PUBLIC_BASE_URL=HTTP), HTTP)
    failures = []
    for probe in PROBES:
        response = world.send(probe, "anonymous")
        csp = CONSOLE_CSP if probe.family == "console" else CONTENT_SECURITY_POLICY
        problems = header_problems(response, csp=csp, https=False, private=probe.private)
        if problems:
            failures.append(f"{probe.label} ({probe.method} {probe.path}): {'; '.join(problems)}")
    assert failures == [], "\n".join(failures)
    # A request that does arrive over https (e.g. through a TLS proxy) still gets HSTS.
    secure = world.app.test_client().get("/report", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == HSTS


def test_error_responses_carry_the_security_headers(make_app: Any) -> None:
    """404/405/413/429/500 and a refused CSRF token: no route's own code runs, the headers still come."""
    plain = make_app(**SETTINGS, PUBLIC_BASE_URL=HTTPS)
    publish_release(plain)
    unpublished = make_app(**SETTINGS, PUBLIC_BASE_URL=HTTPS, COMPLIANCE_K=7)  # another k: another release

    def fail() -> str:
        raise RuntimeError("a bug in a view")

    broken = make_app(**SETTINGS, PUBLIC_BASE_URL=HTTPS)
    broken.add_url_rule("/broken", "broken", fail)
    limited = make_app(**{**SETTINGS, "PUBLIC_RATE_LIMIT": "1 per minute"}, PUBLIC_BASE_URL=HTTPS)
    assert limited.test_client().post("/report", data=REPORT, base_url=HTTPS).status_code == 200  # counted
    guarded = make_app(**SETTINGS, PUBLIC_BASE_URL=HTTPS, WTF_CSRF_ENABLED=True)
    cases_: list[tuple[str, Flask, str, str, dict[str, Any], int]] = [
        ("page not found", plain, "GET", "/no-such-page", {}, 404),
        ("console page not found", plain, "GET", "/console/no-such-page", {}, 404),
        ("API route not found", plain, "GET", "/api/v1/no-such-route", {}, 404),
        ("method not allowed", plain, "DELETE", "/report", {}, 405),
        ("body too large", plain, "POST", "/report", {"data": {"body": "x" * 100_000}}, 413),
        ("automatic OPTIONS", plain, "OPTIONS", "/report", {}, 200),
        ("automatic HEAD", plain, "HEAD", "/transparency", {}, 200),
        ("unexpected exception", broken, "GET", "/broken", {}, 500),
        ("release not published yet", unpublished, "GET", "/transparency", {}, 503),
        ("open data not published yet", unpublished, "GET", "/api/v1/compliance/summary", {}, 503),
        ("rate limited", limited, "POST", "/report", {"data": {}}, 429),
        ("CSRF token missing", guarded, "POST", "/report", {"data": REPORT}, 400),
    ]
    failures = []
    for label, application, method, path, kwargs, status in cases_:
        response = application.test_client().open(path, method=method, base_url=HTTPS, **kwargs)
        problems = [] if response.status_code == status else [f"status {response.status_code}, wanted {status}"]
        problems += [
            p
            for p in header_problems(response, csp=CONTENT_SECURITY_POLICY, https=True, private=False)
            if p != f"status {response.status_code}"
        ]
        if problems:
            failures.append(f"{label}: {'; '.join(problems)}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("digit", ["\u00b2", "\u2460"], ids=["superscript two", "circled one"])
def test_a_digit_int_cannot_read_is_refused_never_a_500(surface: World, digit: str) -> None:
    """str.isdigit() accepts "²" and "①" but int() refuses them: each numeric field checks for ASCII."""
    encoded = quote(digit)
    probes = [
        (
            "case version of a console form",
            "staff",
            400,
            Probe("note", "console", "POST", CASE, "/console/cases/{ref}/notes", form={"body": "x", "version": digit}),
        ),
        (
            "NumMedia of a signed SMS",
            "twilio",
            400,
            Probe(
                "sms",
                "twilio",
                "POST",
                "",
                "/channels/twilio/sms",
                form={**twilio_form("sms_basic"), "NumMedia": digit},
            ),
        ),
        (
            "message id in a signed status callback URL",
            "twilio",
            204,
            Probe(
                "status",
                "twilio",
                "POST",
                "",
                f"/channels/twilio/status?m={encoded}",
                form=twilio_form("status_delivered"),
            ),
        ),
        (
            "page of the open data",
            "anonymous",
            400,
            Probe("records", "compliance_api", "GET", "", f"/api/v1/compliance/records?page={encoded}"),
        ),
    ]
    answers = {label: surface.send(probe, who).status_code for label, who, _, probe in probes}
    assert answers == {label: status for label, _, status, _ in probes}


# --- 2. cookies -------------------------------------------------------------------------------


def parse_set_cookie(header: str) -> tuple[str, dict[str, str]]:
    """A Set-Cookie header as (name, {attribute in lower case: value})."""
    first, *attributes = (part.strip() for part in header.split(";"))
    flags = {}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        flags[key.lower()] = value
    return first.partition("=")[0], flags


def csrf_token(response: TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.mark.parametrize(("base", "secure"), [(HTTPS, True), (HTTP, False)], ids=["https", "http-dev"])
def test_every_cookie_is_httponly_samesite_and_secure_exactly_when_https(
    make_app: Any, base: str, secure: bool
) -> None:
    application = make_app(**SETTINGS, PUBLIC_BASE_URL=base, WTF_CSRF_ENABLED=True)
    world = build_world(application, base)
    with get_session_factory(application)(expire_on_commit=True) as db:
        totp_user = staff_with_password(db, Role.OMBUDSPERSON, "totp@tulay.test", totp_secret=pyotp.random_base32())
        totp_email, totp_secret = totp_user.email, totp_user.totp_secret
    assert totp_secret
    emitted: dict[str, list[str]] = {}

    def step(label: str, client: FlaskClient, method: str, path: str, **kwargs: Any) -> TestResponse:
        # A browser sends the page it posts from as Referer (same-origin policy); Flask-WTF checks it over https.
        headers = {"Referer": f"{base}{path}"}
        response = client.open(path, method=method, base_url=base, headers=headers, **kwargs)
        assert response.status_code < 500, label
        emitted[label] = response.headers.getlist("Set-Cookie")
        return response

    reporter = application.test_client()
    form = step("report form", reporter, "GET", "/report")
    done = step("report sent", reporter, "POST", "/report", data={**REPORT, "csrf_token": csrf_token(form)})
    assert done.status_code == 200
    status_form = step("status form", reporter, "GET", "/status")
    answer = step(
        "status answer",
        reporter,
        "POST",
        "/status",
        data={"reference": world.ids["ref"], "pin": PIN, "csrf_token": csrf_token(status_form)},
    )
    assert answer.status_code == 200
    step("dashboard in Spanish", reporter, "GET", "/transparency?lang=es")

    staff = application.test_client()
    login = step("sign-in form", staff, "GET", "/console/login")
    signed_in = step(
        "sign-in",
        staff,
        "POST",
        "/console/login",
        data={"email": world.ids["email"], "password": PASSWORD, "csrf_token": csrf_token(login)},
    )
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/console/")
    queue = step("queue", staff, "GET", "/console/")
    assert queue.status_code == 200
    step("sign-out", staff, "POST", "/console/logout", data={"csrf_token": csrf_token(queue)})

    second_factor = application.test_client()
    login = step("sign-in form (TOTP)", second_factor, "GET", "/console/login")
    step(
        "password step",
        second_factor,
        "POST",
        "/console/login",
        data={"email": totp_email, "password": PASSWORD, "csrf_token": csrf_token(login)},
    )
    code_form = step("code form", second_factor, "GET", "/console/login/code")
    code = step(
        "code step",
        second_factor,
        "POST",
        "/console/login/code",
        data={"code": pyotp.TOTP(totp_secret).now(), "csrf_token": csrf_token(code_form)},
    )
    assert code.status_code == 302

    # Machines and open data never get a cookie: nothing for a CDN or a scraper to carry around.
    for probe in PROBES:
        if probe.family in ("api", "compliance_api", "twilio", "health", "transparency", "static"):
            who = SIGNED_IN.get(probe.family, "anonymous")
            emitted[f"{probe.family} {probe.label}"] = world.send(probe, who).headers.getlist("Set-Cookie")
            assert emitted[f"{probe.family} {probe.label}"] == [], f"{probe.label} set a cookie"

    for label in ("report form", "sign-in", "sign-out", "password step", "code step"):
        assert emitted[label], f"{label} set no cookie: the flow no longer exercises the session cookie"
    failures = []
    for label, headers in emitted.items():
        for header in headers:
            name, flags = parse_set_cookie(header)
            problems = [
                problem
                for problem, bad in (
                    ("not HttpOnly", "httponly" not in flags),
                    ("SameSite missing or None", flags.get("samesite", "").lower() not in ("lax", "strict")),
                    ("not Secure over https", secure and "secure" not in flags),
                    ("Secure in http development (the browser would drop it)", not secure and "secure" in flags),
                    ("a remember-me cookie (the console has none)", name.startswith("remember")),
                )
                if bad
            ]
            if problems:
                failures.append(f"{label}: {name}: {', '.join(problems)}")
    assert failures == [], "\n".join(failures)


# --- https in a real browser: forms, CSRF and the Secure session cookie together -------------


@pytest.mark.browser
def test_forms_work_over_https_in_a_browser_with_secure_cookies(make_app: Any, browser: Any) -> None:
    """Chromium posts the report form and the console sign-in over https with CSRF on.

    Flask-WTF checks the Referer of https posts against the host, and the browser sends one
    only if our Referrer-Policy allows it for our own origin.
    """
    application = make_app(**SETTINGS, PUBLIC_BASE_URL=HTTPS, WTF_CSRF_ENABLED=True)
    world = build_world(application, HTTPS)
    with serve_over_http(application, tls=True) as base:
        context = browser.new_context(ignore_https_errors=True, java_script_enabled=False)
        page = context.new_page()
        page.goto(f"{base}/report?lang=en")
        page.fill("#body", "My employer has not paid me since March.")
        page.select_option("#country", "AE")
        page.click("form[method=post] button[type=submit]")
        assert page.locator("#reference").count() == 1, page.locator("body").inner_text()

        page.goto(f"{base}/console/login")
        page.fill("input[name=email]", world.ids["email"])
        page.fill("input[name=password]", PASSWORD)
        page.click("form[method=post] button[type=submit]")
        assert page.url == f"{base}/console/", page.locator("body").inner_text()
        assert "Queue" in page.locator("h1").inner_text()
        cookies = {cookie["name"]: cookie for cookie in context.cookies()}
        assert cookies["session"]["secure"] and cookies["session"]["httpOnly"]
        assert cookies["session"]["sameSite"] == "Lax"
        context.close()
    with get_session_factory(application)(expire_on_commit=True) as db:
        reports = db.exec(select(Case).where(col(Case.channel) == ChannelKind.WEB)).all()
    assert len(reports) == 1
