"""The ombudsperson's queue: its default order and the other sorts, the due column in the staff
member's time zone, previews, the reporter-wrote-back marker, filters and searches (phone and
employer through keyed hashes), pagination and bulk assignment; the same through the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, col, select

from app.console.views import relative_due
from app.security import issue_api_token
from casework.intake import InboundMessage, IntakeServices, accept_inbound, contact_key, process_inbound
from casework.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Category,
    ChannelKind,
    Reporter,
    Role,
    Route,
    StaffUser,
    Urgency,
    utcnow,
)
from casework.privacy import employer_key
from tests.app.console_support import add_message, fetch, make_case, make_staff, reload, sign_in

NUMBER = "+639171234567"


def _case(db: Session, **fields: Any) -> Case:
    case = make_case(db, **fields)
    db.commit()
    return case


def order_on(page: str, cases: list[Case]) -> list[str]:
    """The references of `cases` in the order the page lists them."""
    found = [(page.index(f">{c.reference}</a>"), c.reference) for c in cases if f">{c.reference}</a>" in page]
    return [ref for _, ref in sorted(found)]


def _refs(cases: list[Case]) -> list[str]:
    return [c.reference for c in cases]


# --- order -------------------------------------------------------------------------------------


def _ordering_cases(db: Session) -> dict[str, Case]:
    now = utcnow()
    return {
        # created in an order unlike the expected one, so creation order can't pass the test
        "low": _case(db, urgency=Urgency.LOW, first_response_due_at=now + timedelta(hours=1)),
        "high_later": _case(db, urgency=Urgency.HIGH, first_response_due_at=now + timedelta(hours=5)),
        "no_clock": _case(db, urgency=Urgency.HIGH),
        "high_overdue": _case(db, urgency=Urgency.HIGH, first_response_due_at=now - timedelta(hours=2)),
        "critical": _case(db, urgency=Urgency.CRITICAL, first_response_due_at=now + timedelta(days=3)),
        "high_soon": _case(db, urgency=Urgency.HIGH, first_response_due_at=now + timedelta(hours=1)),
        "triage_low": _case(db, urgency=Urgency.LOW, needs_human_triage=True),
        # answered: the first-response clock stopped, the resolution one runs
        "high_resolution": _case(
            db,
            urgency=Urgency.HIGH,
            first_response_due_at=now - timedelta(days=1),
            first_response_at=now - timedelta(days=2),
            resolution_due_at=now + timedelta(hours=3),
        ),
    }


DEFAULT_ORDER = [
    "triage_low",
    "critical",
    "high_overdue",
    "high_soon",
    "high_resolution",
    "high_later",
    "no_clock",
    "low",
]


def test_default_order_is_triage_then_urgency_then_deadline_then_id(staff_client: Any, db: Session) -> None:
    made = _ordering_cases(db)
    page = staff_client.get("/console/").text
    assert order_on(page, list(made.values())) == [made[name].reference for name in DEFAULT_ORDER]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", lambda m: list(reversed(_refs(list(m.values()))))),
        ("oldest", lambda m: _refs(list(m.values()))),
        (
            "due",
            lambda m: _refs(
                [m[n] for n in ("high_overdue", "low", "high_soon", "high_resolution", "high_later", "critical")]
                + sorted([m["no_clock"], m["triage_low"]], key=lambda c: c.id or 0)
            ),
        ),
        (
            "urgency",
            lambda m: _refs(
                [m[n] for n in ("critical", "high_overdue", "high_soon", "high_resolution", "high_later", "no_clock")]
                + [m["low"], m["triage_low"]]
            ),
        ),
    ],
)
def test_other_sorts_are_kept_in_the_url(staff_client: Any, db: Session, sort: str, expected: Any) -> None:
    made = _ordering_cases(db)
    for n, case in enumerate(made.values()):
        case.created_at = utcnow() - timedelta(days=10 - n)  # oldest first, in insertion order
        db.add(case)
    db.commit()
    page = staff_client.get(f"/console/?sort={sort}&urgency=").text
    assert order_on(page, list(made.values())) == expected(made)
    # the sort survives the filter form and the pager; the other sorts' links keep the filters
    assert f'name="sort" value="{sort}"' in page
    assert re.search(r'href="/console/\?[^"]*sort=oldest', page) or sort == "oldest"


def test_due_column_is_relative_and_in_the_staff_members_time_zone(web: Any, db: Session) -> None:
    user = make_staff(db, Role.OMBUDSPERSON)
    user.time_zone = "Asia/Manila"
    db.add(user)
    due = datetime(2031, 1, 2, 3, 4, tzinfo=UTC)
    _case(db, first_response_due_at=due)
    page = sign_in(web, user).get("/console/").text
    assert "2031-01-02 11:04 PST" in page  # UTC+8
    assert "times in Asia/Manila" in page


def test_relative_due_wording() -> None:
    now = datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert relative_due(now + timedelta(hours=3, minutes=10), now) == "in 3 h"
    assert relative_due(now - timedelta(hours=2, minutes=5), now) == "overdue by 2 h"
    assert relative_due(now + timedelta(minutes=25), now) == "in 25 min"
    assert relative_due(now + timedelta(days=4), now) == "in 4 d"


def test_settings_change_the_time_zone_and_refuse_a_bad_one(web: Any, db: Session, ombud: StaffUser) -> None:
    client = sign_in(web, ombud)
    bad = client.post("/console/settings", data={"time_zone": "Mars/Olympus"})
    assert bad.status_code == 400 and "The time zone must be a name such as Asia/Manila" in bad.text
    assert reload(db, ombud).time_zone is None
    good = client.post("/console/settings", data={"time_zone": "Asia/Riyadh"})
    assert good.status_code == 303
    assert reload(db, ombud).time_zone == "Asia/Riyadh"
    assert 'value="Asia/Riyadh" selected' in client.get("/console/settings").text


# --- previews and the wrote-back marker ---------------------------------------------------------


def test_preview_shows_the_latest_inbound_message_and_its_translation(staff_client: Any, db: Session) -> None:
    case = make_case(db, contact=NUMBER)
    add_message(db, case, "unang mensahe", translation="first message")
    add_message(db, case, "Tumawag ka sa +63 917 765 4321 " + "mahaba " * 40, translation="Call me " + "long " * 40)
    db.commit()
    page = staff_client.get("/console/").text
    assert "Tumawag ka sa [number] mahaba" in page and "Call me long" in page
    assert "unang mensahe" not in page
    assert "765 4321" not in page and NUMBER not in page
    preview = re.search(r'<p class="queue-preview">(.*?)</p>', page, re.S)
    assert preview is not None
    original = re.search(r"<span[^>]*>(.*?)</span>", preview.group(1))
    assert original is not None and len(original.group(1)) <= 120


def _follow_up(db: Session, sid: str, body: str) -> None:
    message, _ = accept_inbound(
        db, InboundMessage(channel="sms", external_id=sid, sender=NUMBER, body=body, received_at=datetime.now(UTC))
    )
    db.commit()
    process_inbound(db, message.id or 0, IntakeServices(working_language="en"))
    db.commit()


def test_follow_up_marks_the_case_and_the_assignee_opening_it_clears_the_mark(
    web: Any, capp: Flask, db: Session, ombud: StaffUser
) -> None:
    _follow_up(db, "SM" + "1" * 32, "Hindi binayaran ang sahod ko")
    case = fetch(db, select(Case))[0]
    assert case.reporter_wrote_back_at is None  # the first message opens the case: nothing to mark
    case.assignee_id, case.status = ombud.id, CaseStatus.ASSIGNED
    db.add(case)
    db.commit()
    _follow_up(db, "SM" + "2" * 32, "may balita po ba")
    case = reload(db, case)
    assert case.reporter_wrote_back_at is not None
    client = sign_in(web, ombud)
    listed = client.get("/console/?wrote_back=true").text
    assert case.reference in listed and "reporter wrote back" in listed
    # someone else opening it leaves the mark
    other = make_staff(db, Role.OMBUDSPERSON)
    db.commit()
    sign_in(capp.test_client(), other).get(f"/console/cases/{case.reference}")
    assert reload(db, case).reporter_wrote_back_at is not None
    version = case.version
    assert client.get(f"/console/cases/{case.reference}").status_code == 200
    case = reload(db, case)
    assert case.reporter_wrote_back_at is None and case.version == version  # no stale forms for others
    assert case.reference not in client.get("/console/?wrote_back=true").text


# --- filters and searches ----------------------------------------------------------------------


def test_filters_category_country_sector_channel_and_mine(staff_client: Any, db: Session, ombud: StaffUser) -> None:
    made = {
        "wages": _case(db, category=Category.WAGE_THEFT, country="SA", sector="domestic_work"),
        "passport": _case(db, category=Category.DOCUMENT_CONFISCATION, country="MY", sector="construction"),
        "web": _case(db, channel=ChannelKind.WEB, country="SA"),
        "mine": _case(db, status=CaseStatus.ASSIGNED, assignee_id=ombud.id),
    }
    for query, expected in [
        ("category=wage_theft", {"wages"}),
        ("country=sa", {"wages", "web"}),
        ("sector=construction", {"passport"}),
        ("channel=web", {"web"}),
        ("mine=true", {"mine"}),
        ("country=SA&sector=domestic_work", {"wages"}),
    ]:
        page = staff_client.get(f"/console/?{query}")
        assert page.status_code == 200, query
        assert {n for n, c in made.items() if c.reference in page.text} == expected, query
        assert page.text.count('name="mine"') == 1


def test_phone_search_goes_through_the_reporters_keyed_hash(staff_client: Any, db: Session) -> None:
    theirs = make_case(db, contact=NUMBER)
    reporter = db.get(Reporter, theirs.reporter_id)
    assert reporter is not None
    reporter.contact_hash = contact_key(NUMBER)
    db.add(reporter)
    # the same number stored without its hash: a scan of numbers would find it, the hash does not
    unhashed = make_case(db, contact=NUMBER)
    other = make_case(db, contact="+639179999999")
    db.commit()
    for typed in ("+63 917 123 4567", "+63-917-1234567", NUMBER):
        page = staff_client.get("/console/", query_string={"phone": typed}).text
        assert theirs.reference in page, typed
        assert unhashed.reference not in page and other.reference not in page
    bad = staff_client.get("/console/?phone=call+me")
    assert bad.status_code == 400 and "phone must be a phone number" in bad.text
    # well formed but no number that can exist: nobody's (reporters' numbers are stored normalized)
    nobody = staff_client.get("/console/", query_string={"phone": "+0 000 000"})
    assert nobody.status_code == 200 and "No cases match these filters." in nobody.text


def test_employer_and_reference_search(staff_client: Any, db: Session) -> None:
    noor = _case(db, employer_name="Al Noor Trading", employer_pseudonym=employer_key("Al Noor Trading"))
    other = _case(db, employer_name="Other Co", employer_pseudonym=employer_key("Other Co"))
    page = staff_client.get("/console/", query_string={"employer": "  al noor   TRADING"}).text
    assert noor.reference in page and other.reference not in page
    page = staff_client.get("/console/", query_string={"q": other.reference.lower()}).text
    assert other.reference in page and noor.reference not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sort=sideways", "sort must be one of"),
        ("country=SAU", "country must be a two-letter"),
        ("category=theft", "category must be one of"),
        ("channel=pigeon", "channel must be one of"),
        ("sector=%3Cb%3E", "sector must be a code"),
        ("mine=maybe", "mine must be true or false"),
        ("wrote_back=2", "wrote_back must be true or false"),
        ("page=x", "page must be a whole number"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(staff_client: Any, query: str, message: str) -> None:
    response = staff_client.get(f"/console/?{query}")
    assert response.status_code == 400 and message in response.text
    assert "<b>" not in response.text


def test_pages_of_fifty_keep_the_filters(staff_client: Any, db: Session) -> None:
    for _ in range(51):
        make_case(db, country="SA")
    make_case(db, country="MY")
    db.commit()
    first = staff_client.get("/console/?country=SA").text
    assert "Page 1 of 2" in first and first.count('name="reference"') == 50
    assert re.search(r'href="/console/\?[^"]*country=SA[^"]*page=2|href="/console/\?[^"]*page=2[^"]*country=SA', first)
    second = staff_client.get("/console/?country=SA&page=2").text
    assert "Page 2 of 2" in second and second.count('name="reference"') == 1


# --- bulk assignment ---------------------------------------------------------------------------


def test_bulk_assign_assigns_every_ticked_case_and_audits_each(
    staff_client: Any, db: Session, ombud: StaffUser
) -> None:
    target = make_staff(db, Role.OMBUDSPERSON)
    cases = [make_case(db, route=Route.OMBUDSPERSON) for _ in range(3)]
    db.commit()
    response = staff_client.post(
        "/console/bulk-assign",
        data={"reference": [c.reference for c in cases[:2]], "assignee_id": str(target.id), "back": "sort=due"},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/console/?sort=due")
    assert [reload(db, c).assignee_id for c in cases] == [target.id, target.id, None]
    events = fetch(db, select(CaseEvent).where(CaseEvent.action == "case_assigned"))
    assert sorted(e.case_id for e in events) == sorted(c.id for c in cases[:2])
    assert all(e.actor_id == ombud.id for e in events)
    assert "2 cases assigned." in staff_client.get("/console/?sort=due").text


def test_bulk_assign_refuses_whole_when_one_case_cannot_go_to_that_person(staff_client: Any, db: Session) -> None:
    mediator = make_staff(db, Role.MEDIATOR)
    fine = make_case(db, route=Route.MEDIATION)
    wrong = make_case(db, route=Route.OMBUDSPERSON)  # ombudsperson cases don't go to a mediator
    db.commit()
    response = staff_client.post(
        "/console/bulk-assign", data={"reference": [fine.reference, wrong.reference], "assignee_id": str(mediator.id)}
    )
    assert response.status_code == 303
    assert reload(db, fine).assignee_id is None and reload(db, wrong).assignee_id is None
    assert fetch(db, select(CaseEvent).where(col(CaseEvent.action).in_(["case_assigned", "status_changed"]))) == []
    assert f"Nothing was assigned: {wrong.reference}" in staff_client.get("/console/").text


@pytest.mark.parametrize("role", [Role.MEDIATOR, Role.ANALYST])
def test_bulk_assign_is_refused_to_roles_that_may_not_assign(web: Any, db: Session, role: Role) -> None:
    user = make_staff(db, role)
    target = make_staff(db, Role.OMBUDSPERSON)
    case = make_case(db, status=CaseStatus.IN_MEDIATION, assignee_id=user.id, route=Route.MEDIATION)
    db.commit()
    before = case.version
    response = sign_in(web, user).post(
        "/console/bulk-assign", data={"reference": [case.reference], "assignee_id": str(target.id)}
    )
    assert response.status_code == 403
    assert reload(db, case).assignee_id == user.id and case.version == before
    assert 'action="/console/bulk-assign"' not in web.get("/console/").text


def test_bulk_assign_needs_the_csrf_token(make_app: Any, db: Session, ombud: StaffUser) -> None:
    protected = make_app(WTF_CSRF_ENABLED=True)
    case = make_case(db)
    db.commit()
    client = sign_in(protected.test_client(), ombud)
    response = client.post("/console/bulk-assign", data={"reference": [case.reference], "assignee_id": str(ombud.id)})
    assert response.status_code == 400
    assert reload(db, case).assignee_id is None


# --- the API -----------------------------------------------------------------------------------


def _token(db: Session, role: Role = Role.OMBUDSPERSON) -> tuple[StaffUser, dict[str, str]]:
    user = make_staff(db, role)
    token = issue_api_token(db, user)
    db.commit()
    return user, {"Authorization": f"Bearer {token}"}


def test_api_list_uses_the_same_order_sorts_filters_and_searches(web: Any, db: Session) -> None:
    made = _ordering_cases(db)
    _, headers = _token(db)
    body = web.get("/api/v1/cases", headers=headers).get_json()
    assert [row["reference"] for row in body["data"]] == [made[name].reference for name in DEFAULT_ORDER]
    assert body["sort"] == "triage" and body["per_page"] == 50
    overdue = next(row for row in body["data"] if row["reference"] == made["high_overdue"].reference)
    assert overdue["overdue"] is True and overdue["due_at"] and "reporter_wrote_back_at" in overdue
    newest = web.get("/api/v1/cases?sort=newest&urgency=high", headers=headers).get_json()
    assert [r["reference"] for r in newest["data"]] == sorted(
        [r["reference"] for r in newest["data"]],
        key=lambda ref: -next(c.id for c in made.values() if c.reference == ref),  # type: ignore[operator]
    )
    assert {r["urgency"] for r in newest["data"]} == {"high"}


def test_api_phone_search_and_preview(web: Any, db: Session) -> None:
    case = make_case(db, contact=NUMBER)
    reporter = db.get(Reporter, case.reporter_id)
    assert reporter is not None
    reporter.contact_hash = contact_key(NUMBER)
    add_message(db, case, "Hindi binayaran", translation="Not paid")
    make_case(db, contact="+639179999999")
    _, headers = _token(db)
    body = web.get("/api/v1/cases", query_string={"phone": "+63 917 123 4567"}, headers=headers).get_json()
    assert [r["reference"] for r in body["data"]] == [case.reference]
    assert body["data"][0]["preview"] == {"original": "Hindi binayaran", "translation": "Not paid"}
    assert NUMBER not in str(body)


@pytest.mark.parametrize(
    ("query", "name"),
    [("sort=best", "sort"), ("phone=12", "phone"), ("country=1", "country"), ("mine=perhaps", "mine")],
)
def test_api_bad_list_input_is_a_400_naming_the_parameter(web: Any, db: Session, query: str, name: str) -> None:
    _, headers = _token(db)
    response = web.get(f"/api/v1/cases?{query}", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(name)
