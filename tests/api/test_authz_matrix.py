"""Authorization matrix: every API route by every role. Mediators see only their own cases, and
another mediator's case answers 404 exactly like a case that does not exist."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from app.media import store_media
from casework import staff
from casework.mediation import record_mediation_result, schedule_mediation
from casework.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Category,
    Direction,
    MediaAttachment,
    Message,
    Role,
    Route,
    utcnow,
)
from tests.api.conftest import Api
from tests.factories import make_case

WHO = ("anonymous", "admin", "ombudsperson", "mediator_own", "mediator_other", "analyst")
OK, DENIED, HIDDEN, NO_TOKEN = "ok", 403, 404, 401

CASE_WORK = {
    "anonymous": NO_TOKEN,
    "admin": OK,
    "ombudsperson": OK,
    "mediator_own": OK,
    "mediator_other": HIDDEN,
    "analyst": DENIED,
}
MANAGERS = {**CASE_WORK, "mediator_own": DENIED, "mediator_other": DENIED}
ADMIN_ONLY = {**MANAGERS, "ombudsperson": DENIED}
QUEUE = {**CASE_WORK, "mediator_other": OK}  # the queue itself is allowed; it lists only their cases
PUBLIC = dict.fromkeys(WHO, OK)


def body_for(route: str, ids: dict[str, int]) -> Any:
    soon = (utcnow() + timedelta(days=1)).isoformat()
    return {
        "reply": {"text": "We are on it", "sent_text": "Inaasikaso na namin"},
        "assign": {"assignee_id": ids["other_mediator"]},
        "transition": {"to": "investigating"},
        "refer": {"to": "inspection"},
        "notes": {"body": "called the employer"},
        "mediation-sessions": {"mediator_id": ids["mediator"], "scheduled_at": soon, "parties": "worker, employer"},
        "result": {"held_at": utcnow().isoformat(), "result": "agreement"},
        "amend": {"held_at": utcnow().isoformat(), "result": "agreement", "reason": "signed later"},
        "outcome": {"resolution_type": "withdrawn"},
        "triage": {"urgency": "high"},
        "translation": {"text": "My salary has not been paid"},
        "routing-rules": {"yaml": "rules:\n- {name: all, route: ombudsperson}\n"},
    }.get(route)


# (label, method, path with {ref} / {sid}, body key, expectations by role)
MATRIX = [
    ("queue", "GET", "/api/v1/cases", None, QUEUE),
    ("case view", "GET", "/api/v1/cases/{ref}", None, CASE_WORK),
    ("reply", "POST", "/api/v1/cases/{ref}/reply", "reply", CASE_WORK),
    ("assign", "POST", "/api/v1/cases/{ref}/assign", "assign", MANAGERS),
    ("transition", "POST", "/api/v1/cases/{ref}/transition", "transition", CASE_WORK),
    ("refer", "POST", "/api/v1/cases/{ref}/refer", "refer", MANAGERS),
    ("notes", "POST", "/api/v1/cases/{ref}/notes", "notes", CASE_WORK),
    ("schedule mediation", "POST", "/api/v1/cases/{ref}/mediation-sessions", "mediation-sessions", CASE_WORK),
    ("mediation result", "POST", "/api/v1/cases/{ref}/mediation-sessions/{sid}/result", "result", CASE_WORK),
    ("mediation amend", "POST", "/api/v1/cases/{ref}/mediation-sessions/{sid}/amend", "amend", CASE_WORK),
    ("outcome", "POST", "/api/v1/cases/{ref}/outcome", "outcome", CASE_WORK),
    ("triage override", "POST", "/api/v1/cases/{ref}/triage", "triage", MANAGERS),
    ("triage confirm", "POST", "/api/v1/cases/{ref}/triage/confirm", None, MANAGERS),
    ("correct translation", "POST", "/api/v1/cases/{ref}/messages/{mid}/translation", "translation", CASE_WORK),
    ("attachment", "GET", "/api/v1/cases/{ref}/attachments/{aid}", None, CASE_WORK),
    ("audit trail", "GET", "/api/v1/cases/{ref}/audit", None, ADMIN_ONLY),
    ("read routing rules", "GET", "/api/v1/routing-rules", None, ADMIN_ONLY),
    ("save routing rules", "PUT", "/api/v1/routing-rules", "routing-rules", ADMIN_ONLY),
    ("openapi document", "GET", "/api/v1/openapi.json", None, PUBLIC),
]


def test_matrix_covers_every_api_route(app: Flask) -> None:
    covered = {
        (
            method,
            path.replace("{ref}", "<reference>")
            .replace("{sid}", "<int:session_id>")
            .replace("{mid}", "<int:message_id>")
            .replace("{aid}", "<int:attachment_id>"),
        )
        for _, method, path, _, _ in MATRIX
    }
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert routes <= covered, f"add these routes to the authorization matrix: {routes - covered}"


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(("label", "method", "path", "body", "expect"), MATRIX, ids=[row[0] for row in MATRIX])
def test_authorization(
    api: Api, session: Session, who: str, label: str, method: str, path: str, body: str | None, expect: dict[str, Any]
) -> None:
    mediator = api.actors["mediator"]
    case = make_case(
        session,
        route=Route.MEDIATION,
        assignee_id=mediator.id,
        status=CaseStatus.ASSIGNED,
        category=Category.WAGE_THEFT,
    )
    meeting = schedule_mediation(session, case, mediator.id, utcnow() - timedelta(hours=2), "worker", mediator.id)
    if body == "amend":  # only a recorded result can be amended
        record_mediation_result(session, meeting, utcnow() - timedelta(hours=1), None, "no_agreement", mediator.id)
    message = Message(
        case_id=case.id,
        reporter_id=case.reporter_id,
        direction=Direction.INBOUND,
        channel="sms",
        body="Hindi binabayaran ang sahod ko",
        language="tl",
        needs_human_translation=True,
    )
    session.add(message)
    session.flush()
    attachment = MediaAttachment(message_id=message.id or 0, content_type="image/jpeg", fetched_at=utcnow())
    session.add(attachment)
    session.flush()
    attachment.stored_path = store_media(message.id or 0, attachment.id or 0, b"\xff\xd8\xff\xe0 a payslip")
    session.commit()
    ids = {name: actor.id for name, actor in api.actors.items()}
    actor = {"anonymous": None, "mediator_own": "mediator", "mediator_other": "other_mediator"}.get(who, who)
    url = path.format(ref=case.reference, sid=meeting.id, mid=message.id, aid=attachment.id)
    response = api.call(method, url, actor, body_for(body, ids) if body else None)
    wanted = expect[who]
    if wanted == OK:
        assert response.status_code in (200, 201), (label, who, response.json)
    else:
        assert response.status_code == wanted, (label, who, response.status_code, response.json)
        assert response.is_json and response.json["error"]
    if wanted == HIDDEN:
        assert response.json == {"error": "case not found"}  # same answer as a case that does not exist


@pytest.mark.parametrize("target", ["mediation", "inspection"])
def test_a_mediator_cannot_refer_their_own_case(api: Api, session: Session, target: str) -> None:
    """Referral hands a case on (to another mediator, or to the inspectorate): a managing action."""
    mediator, other = api.actors["mediator"], api.actors["other_mediator"]
    case = make_case(session, route=Route.MEDIATION, assignee_id=mediator.id, status=CaseStatus.ASSIGNED)
    session.commit()
    before = (case.version, case.assignee_id, case.status, case.route)
    events_before = len(session.exec(select(CaseEvent)).all())
    url, case_id = f"/api/v1/cases/{case.reference}/refer", case.id
    body = {"to": target, "mediator_id": other.id, "expected_version": case.version}
    session.rollback()  # SQLite: a transaction left open here would lock out the request's writes
    response = api.call("POST", url, "mediator", body)
    assert response.status_code == 403 and response.json["error"]
    fresh = session.get_one(Case, case_id)
    assert (fresh.version, fresh.assignee_id, fresh.status, fresh.route) == before
    assert len(session.exec(select(CaseEvent)).all()) == events_before
    session.rollback()
    # The managing roles may.
    allowed = api.call("POST", url, "ombudsperson", body)
    assert allowed.status_code == 200, allowed.json


def test_a_status_change_to_referred_is_a_referral(api: Api, session: Session) -> None:
    """`/transition` to `referred` is referral to labour inspection under another name: same rule."""
    case = make_case(session, route=Route.MEDIATION, assignee_id=api.actors["mediator"].id, status=CaseStatus.ASSIGNED)
    session.commit()
    url, case_id = f"/api/v1/cases/{case.reference}/transition", case.id
    session.rollback()
    refused = api.call("POST", url, "mediator", {"to": "referred"})
    assert refused.status_code == 403 and refused.json["error"]
    assert session.get_one(Case, case_id).status == CaseStatus.ASSIGNED
    session.rollback()
    allowed = api.call("POST", url, "ombudsperson", {"to": "referred"})
    assert allowed.status_code == 200 and allowed.json["case"]["status"] == "referred"
    actions = session.exec(select(CaseEvent.action).where(CaseEvent.case_id == case_id)).all()
    assert "referred_to_inspection" in actions


def test_unknown_case_and_foreign_case_look_the_same(api: Api, session: Session) -> None:
    case = make_case(session, route=Route.MEDIATION, assignee_id=api.actors["mediator"].id, status=CaseStatus.ASSIGNED)
    session.commit()
    foreign = api.call("GET", f"/api/v1/cases/{case.reference}", "other_mediator")
    missing = api.call("GET", "/api/v1/cases/0000-0000", "other_mediator")
    expected = (404, {"error": "case not found"})
    assert (foreign.status_code, foreign.json) == (missing.status_code, missing.json) == expected
    queue = api.call("GET", "/api/v1/cases", "other_mediator")
    assert queue.json["count"] == 0


@pytest.mark.parametrize(
    ("label", "header"),
    [
        ("no header", None),
        ("wrong scheme", "Basic abc"),
        ("unknown token", "Bearer tly_nope"),
        ("empty bearer", "Bearer "),
        ("huge token", "Bearer " + "x" * 5000),
    ],
)
def test_bad_tokens_get_401_with_a_challenge(api: Api, label: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = api.client.get("/api/v1/cases", headers=headers)
    assert response.status_code == 401 and response.json["error"], label
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_inactive_users_token_stops_working(api: Api, session: Session) -> None:
    user = api.actors["ombudsperson"].user
    user.active = False
    session.add(user)
    session.commit()
    assert api.call("GET", "/api/v1/cases", "ombudsperson").status_code == 401


def test_deactivation_and_revocation_stop_a_token_at_once(api: Api, session: Session) -> None:
    """Account management (casework.staff) acts on the API at the next call: no cache, no grace."""
    ombudsperson, analyst = api.actors["ombudsperson"], api.actors["analyst"]
    assert api.call("GET", "/api/v1/cases", "ombudsperson").status_code == 200
    staff.deactivate(session, ombudsperson.user, actor_id=api.actors["admin"].id)
    session.commit()
    assert api.call("GET", "/api/v1/cases", "ombudsperson").status_code == 401
    staff.set_role(session, analyst.user, Role.OMBUDSPERSON, actor_id=api.actors["admin"].id)
    session.commit()
    assert api.call("GET", "/api/v1/cases", "analyst").status_code == 200  # the new role, at once
    (row,) = staff.active_api_tokens(session, analyst.user)
    staff.revoke_api_token(session, analyst.user, row.id or 0, actor_id=analyst.id)
    session.commit()
    assert api.call("GET", "/api/v1/cases", "analyst").status_code == 401
