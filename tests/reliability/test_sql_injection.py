"""Hostile values in every filter and lookup parameter: the console queue, the API's case list
and case lookups, the compliance records and summary, the transparency dashboard, /status and
the console sign-in.

For each value in each parameter: never a 5xx; either a 4xx that says what is wrong, or an
answer no wider than a harmless one (a hostile search term finds nothing a non-matching term
wouldn't; no filter value shows more than no filter at all, and a mediator never sees another
mediator's case); and no row of any table changes. Runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlmodel import Session, SQLModel
from werkzeug.test import TestResponse

from app import jobs
from app.api.cases import QUEUE_PARAMS
from app.api.compliance import OPENAPI_PATHS
from app.db import get_engine
from app.security import issue_api_token
from casework.cases import hash_pin
from casework.compliance.schema import FILTER_DIMENSIONS
from casework.models import Case, CaseStatus, Role, Route, Urgency
from casework.worklist import QueueFilters
from tests.app.console_support import PASSWORD, sign_in, staff_with_password
from tests.closed_cases import close_case
from tests.conftest import IsolatedClient
from tests.factories import make_case, make_staff

HOSTILE = [
    ("tautology", "' OR 1=1 --"),
    ("quoted tautology", "' OR '1'='1"),
    ("double-quoted tautology", '" OR ""="'),
    ("stacked DROP", "1; DROP TABLE message"),
    ("quoted stacked DROP", "x'; DROP TABLE message; --"),
    ("UNION SELECT", '%\' UNION SELECT reference, pin_hash FROM "case" --'),
    ("LIKE wildcard", "%"),
    ("LIKE one-character wildcard", "_"),
    ("comments for spaces", "'/**/OR/**/1=1/**/--"),
    ("backslash-escaped quote", "\\' OR 1=1 --"),
    ("right single quote", "\u2019 OR 1=1 --"),
    ("modifier-letter apostrophe", "\u02bc OR \u02bc1\u02bc=\u02bc1"),
    ("fullwidth apostrophe", "\uff07 OR 1=1 --"),
    ("NUL byte", "new\x00' OR 1=1 --"),
    ("lone NUL", "\x00"),
    ("CR LF", "a\r\nSet-Cookie: x=1"),
    ("bind markers", "$1 ? :name %s %(x)s"),
    ("SQLite concatenation", "' || sqlite_version() || '"),
    ("PostgreSQL sleep", "'; SELECT pg_sleep(0); --"),
    ("JSON operator", '{"$ne": null}'),
    ("very long", "A" * 5000),
    ("many quotes", "'" * 2000),
    ("huge exponent", "1e999"),
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("negative", "-1"),
    ("zero", "0"),
    ("beyond a 32-bit integer", "2147483648"),
    ("beyond a 64-bit integer", "9" * 40),
    ("underscored number", "1_000"),
    ("superscript digit", "\u00b2"),
    ("Arabic-Indic digit", "\u0661"),
    ("fullwidth digits", "\uff12\uff10\uff12\uff15"),
    ("tautology in a period", "2025-01..2025-12' OR '1'='1"),
    ("fullwidth year in a period", "2025-01..\uff12\uff10\uff19\uff19-12"),
]


def console_refs(response: TestResponse) -> Counter[str]:
    return Counter(re.findall(r'href="/console/cases/([0-9A-Z]{4}-[0-9A-Z]{4})"', response.get_data(as_text=True)))


def api_refs(response: TestResponse) -> Counter[str]:
    return Counter(row["reference"] for row in response.get_json()["data"])


def api_case(response: TestResponse) -> Counter[str]:
    body = response.get_json(silent=True) or {}  # a redirect shows nothing
    if "reference" in body:
        return Counter([body["reference"]])
    return Counter([json.dumps(body["data"])] if "data" in body else [])


def records(response: TestResponse) -> Counter[str]:
    if response.mimetype == "text/csv":
        return Counter(response.get_data(as_text=True).splitlines()[1:])
    return Counter(json.dumps(row, sort_keys=True) for row in response.get_json()["records"])


def summary_total(response: TestResponse) -> Counter[str]:
    return Counter({"closed cases": response.get_json()["total_cases"] or 0})


def dashboard_total(response: TestResponse) -> Counter[str]:
    found = re.search(r'class="key">(\d+)<', response.get_data(as_text=True))
    return Counter({"closed cases": int(found.group(1)) if found else 0})


def page_shown(response: TestResponse) -> Counter[str]:
    """One item if the lookup let the caller in (a case page, a signed-in session), none if refused."""
    if response.request.path == "/status":
        shown = 'name="token"' in response.get_data(as_text=True)  # the case page's add-a-message form
    elif response.request.path == "/console/login":
        shown = response.status_code == 302
    else:
        shown = response.status_code == 200
    return Counter(["shown"] if shown else [])


# Every parameter as the code declares it, so a filter added later is attacked too.
QUEUE = tuple(f.name for f in fields(QueueFilters))
API_QUEUE = tuple(str(p["name"]) for p in QUEUE_PARAMS)
RECORDS, SUMMARY = (
    tuple(p["name"] for p in OPENAPI_PATHS[f"/api/v1/compliance/{name}"]["get"]["parameters"])
    for name in ("records", "summary")
)
DIMENSIONS = FILTER_DIMENSIONS
PATH = "<path>"  # the parameter is a segment of the URL
PIN = "482913"


@dataclass(frozen=True)
class Target:
    """A route that looks things up, the parameters it reads, and how to read what it answered.

    `matching` parameters select by equality or prefix: a hostile value there must find what a
    harmless non-matching value (`nothing`) finds. `legit` is a request that does find
    something, proving `read` can see a result.
    """

    label: str
    method: str
    path: str
    params: tuple[str, ...]
    matching: tuple[str, ...]
    viewer: str
    read: Callable[[TestResponse], Counter[str]]
    nothing: Mapping[str, str]
    legit: Mapping[str, str]
    fixed: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    strict_names: bool = True  # an unknown parameter name is refused


TARGETS = [
    Target(
        "console queue",
        "GET",
        "/console/",
        QUEUE,
        ("language", "q"),
        "console:mediator",
        console_refs,
        nothing={"language": "xx", "q": "ZZZZ"},
        legit={},
    ),
    Target(
        "API case list",
        "GET",
        "/api/v1/cases",
        API_QUEUE,
        ("language", "q"),
        "api:mediator",
        api_refs,
        nothing={"language": "xx", "q": "ZZZZ"},
        legit={},
    ),
    Target(
        "compliance records",
        "GET",
        "/api/v1/compliance/records",
        RECORDS,
        DIMENSIONS,
        "anonymous",
        records,
        nothing=dict.fromkeys(DIMENSIONS, "zz"),
        legit={},
    ),
    Target(
        "compliance records as CSV",
        "GET",
        "/api/v1/compliance/records",
        RECORDS,
        DIMENSIONS,
        "anonymous",
        records,
        nothing=dict.fromkeys(DIMENSIONS, "zz"),
        legit={},
        headers={"Accept": "text/csv"},
    ),
    Target(
        "compliance summary",
        "GET",
        "/api/v1/compliance/summary",
        SUMMARY,
        DIMENSIONS,
        "anonymous",
        summary_total,
        nothing=dict.fromkeys(DIMENSIONS, "zz"),
        legit={},
    ),
    Target(
        "transparency dashboard",
        "GET",
        "/transparency",
        ("period", "start", "end", *DIMENSIONS, "lang"),
        DIMENSIONS,
        "anonymous",
        dashboard_total,
        nothing=dict.fromkeys(DIMENSIONS, "zz"),
        legit={},
    ),
    Target(
        "console case page",
        "GET",
        "/console/cases/{value}",
        (PATH,),
        (PATH,),
        "console:admin",
        page_shown,
        nothing={PATH: "ZZZZ-ZZZZ"},
        legit={PATH: "{ref}"},
        strict_names=False,
    ),
    Target(
        "API case",
        "GET",
        "/api/v1/cases/{value}",
        (PATH,),
        (PATH,),
        "api:admin",
        api_case,
        nothing={PATH: "ZZZZ-ZZZZ"},
        legit={PATH: "{ref}"},
        strict_names=False,
    ),
    Target(
        "API audit trail",
        "GET",
        "/api/v1/cases/{value}/audit",
        (PATH,),
        (PATH,),
        "api:admin",
        api_case,
        nothing={PATH: "ZZZZ-ZZZZ"},
        legit={PATH: "{ref}"},
        strict_names=False,
    ),
    Target(
        "status lookup",
        "POST",
        "/status",
        ("reference", "pin", "token"),
        ("reference", "pin", "token"),
        "anonymous",
        page_shown,
        nothing={"reference": "ZZZZ-ZZZZ"},
        legit={"reference": "{ref}", "pin": "{pin}"},
        fixed={"reference": "ZZZZ-ZZZZ", "pin": "000000"},
        strict_names=False,
    ),
    Target(
        "console sign-in",
        "POST",
        "/console/login",
        ("email",),
        ("email",),
        "anonymous",
        page_shown,
        nothing={"email": "nobody@tulay.test"},
        legit={"email": "{email}", "password": PASSWORD},
        fixed={"password": "not the password"},
        strict_names=False,
    ),
]


# --- the data the lookups run over --------------------------------------------------------------


@dataclass
class World:
    app: Flask
    viewers: dict[str, tuple[str, Any]]  # viewer -> ("token", token) or ("user", StaffUser)
    ids: dict[str, str]
    mediator_refs: set[str]
    other_refs: set[str]

    def client(self, viewer: str) -> tuple[FlaskClient, dict[str, str]]:
        client = self.app.test_client()
        kind, who = self.viewers.get(viewer, ("anonymous", None))
        if kind == "user":
            sign_in(client, who)
        return client, ({"Authorization": f"Bearer {who}"} if kind == "token" else {})

    def ask(self, target: Target, values: Mapping[str, str]) -> TestResponse:
        """Send `target` with `values` (each may name a world id as "{ref}"); PATH goes in the URL."""
        filled = {
            key: self.ids.get(value.strip("{}"), value) if re.fullmatch(r"\{\w+\}", value) else value
            for key, value in values.items()
        }
        params = {**target.fixed, **{k: v for k, v in filled.items() if k != PATH}}
        path = target.path.format(value=quote(filled.get(PATH, ""), safe=""))
        client, headers = self.client(target.viewer)
        extra: dict[str, Any] = {"query_string": params} if target.method == "GET" else {"data": params}
        return client.open(path, method=target.method, headers={**headers, **target.headers}, **extra)


@pytest.fixture
def world(app: Flask, session: Session, run_jobs: Any) -> World:
    app.test_client_class = IsolatedClient
    for _ in range(6):  # enough alike closed cases to be published (k = 5)
        close_case(session, closed_at=datetime(2025, 3, 10, tzinfo=UTC))
    run_jobs(("reports",))
    jobs.refresh_compliance_release()  # published, as the worker does
    admin = staff_with_password(session, Role.ADMIN, "admin@tulay.test")
    mine, other = make_staff(session, Role.MEDIATOR), make_staff(session, Role.MEDIATOR)
    # References start with X, which no hostile value becomes as a reference prefix ("0", "NaN" and
    # "1e999" are valid prefixes): a search that finds anything here has matched what it shouldn't.
    rows = ((CaseStatus.ASSIGNED, Urgency.HIGH, "tl", False), (CaseStatus.IN_MEDIATION, Urgency.NORMAL, "ne", True))
    cases: list[Case] = []
    for mediator in (mine, other):
        for status, urgency, language, needs_human in rows:
            cases.append(
                make_case(
                    session,
                    route=Route.MEDIATION,
                    assignee_id=mediator.id,
                    status=status,
                    urgency=urgency,
                    language=language,
                    needs_human_translation=needs_human,
                    reference=f"X{len(cases):03d}-0000",
                )
            )
    unassigned = make_case(
        session, route=Route.OMBUDSPERSON, status=CaseStatus.NEW, pin_hash=hash_pin(PIN), reference="XZZZ-0000"
    )
    viewers = {
        "console:mediator": ("user", mine),
        "console:admin": ("user", admin),
        "api:mediator": ("token", issue_api_token(session, mine)),
        "api:admin": ("token", issue_api_token(session, admin)),
    }
    session.commit()
    return World(
        app=app,
        viewers=viewers,
        ids={"ref": unassigned.reference, "pin": PIN, "email": admin.email},
        mediator_refs={c.reference for c in cases if c.assignee_id == mine.id},
        other_refs={c.reference for c in cases if c.assignee_id != mine.id} | {unassigned.reference},
    )


# Read by requests without changing anything, but stamped on use.
VOLATILE_COLUMNS = {("api_token", "last_used_at")}


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (JSON columns as text), ordered by primary key."""
    rows = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE_COLUMNS]
            result = connection.execute(select(*columns).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(json.dumps(v, default=str) for v in row) for row in result]
    return rows


def refusal(response: TestResponse) -> str:
    """What a 4xx tells the caller: the JSON error, the page's alert, or the error page's heading."""
    if response.is_json:
        return str(response.get_json().get("error") or "")
    page = response.get_data(as_text=True)
    found = re.search(r'role="alert">\s*(?:<p>)?([^<]+)<', page) or re.search(r"<h1>([^<]+)</h1>", page)
    return found.group(1).strip() if found else ""


def answered(target: Target, response: TestResponse) -> Counter[str]:
    """What the answer lists (zero counts dropped); a refusal (4xx) lists nothing."""
    return Counter() if response.status_code >= 400 else +target.read(response)


def check(
    world: World, target: Target, name: str, value: str, baseline: Counter[str], nothing: Counter[str]
) -> str | None:
    """Why sending `value` in `name` broke a rule, or None."""
    response = world.ask(target, {name: value})
    status = response.status_code
    if status >= 500:
        return f"status {status}"
    if 400 <= status < 500:
        return None if refusal(response) else f"status {status} without a message"
    found = answered(target, response)
    if name in target.matching and found != nothing:
        return f"found {sorted(found.elements())[:5]} where a non-matching value finds {sorted(nothing.elements())}"
    if not found <= baseline:
        return f"wider than no filter at all: {sorted((found - baseline).elements())[:5]}"
    return None


@pytest.mark.parametrize("target", TARGETS, ids=[t.label for t in TARGETS])
def test_hostile_values_in_every_parameter_are_refused_or_harmless(world: World, target: Target) -> None:
    engine = get_engine()
    # A URL segment can't be left out: its baseline is the non-matching value.
    baseline = answered(target, world.ask(target, target.nothing if PATH in target.params else {}))
    nothing = answered(target, world.ask(target, target.nothing))
    assert not nothing, f"{target.label}: the non-matching value {dict(target.nothing)} finds something"
    assert answered(target, world.ask(target, target.legit)), (
        f"{target.label}: a real lookup finds nothing, so these checks could not fail"
    )
    if target.viewer.endswith(":mediator"):
        # The mediator sees exactly their own cases: anything else in an answer is a leak.
        assert set(baseline) == world.mediator_refs and not world.mediator_refs & world.other_refs
    failures = []
    for name in target.params:
        before = snapshot(engine)
        failures += [
            f"{name}={label}: {problem}"
            for label, value in HOSTILE
            if (problem := check(world, target, name, value, baseline, nothing))
        ]
        if snapshot(engine) != before:
            failures.append(f"{name}: hostile values changed rows")
    if target.strict_names:
        for label, value in HOSTILE:
            response = world.ask(target, {value: "1"})
            if not (400 <= response.status_code < 500 and refusal(response)):
                failures.append(f"parameter named {label}: status {response.status_code}, wanted a clear 4xx")
    assert failures == [], f"{target.label}:\n" + "\n".join(failures)


def test_a_period_bound_that_is_not_exactly_yyyy_mm_is_refused(world: World) -> None:
    """Bounds are compared as text: "2025-1" or fullwidth digits would silently select the wrong months."""
    client = world.app.test_client()
    for period in (
        "2025-1..2025-12",
        "2025-01..2025-1",
        "\uff12\uff10\uff12\uff15-01..2025-12",
        "2025-01..\uff12\uff10\uff12\uff15-12",
        " 2025-01..2025-12 x",
    ):
        for path in ("/api/v1/compliance/summary", "/api/v1/compliance/records"):
            response = client.get(path, query_string={"period": period})
            assert response.status_code == 400 and "YYYY-MM" in response.get_json()["error"], (path, period)


def test_the_canonical_period_still_selects_its_months(world: World) -> None:
    client = world.app.test_client()
    assert client.get("/api/v1/compliance/summary?period=2025-03..2025-03").get_json()["total_cases"] == 6
    assert client.get("/api/v1/compliance/summary?period=2025-04..2025-12").get_json()["total_cases"] == 0
