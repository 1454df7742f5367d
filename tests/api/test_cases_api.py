"""The case API: what each endpoint does, and the clear JSON errors it gives for bad input."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from app.db import new_session
from casework.models import Case, CaseEvent, CaseStatus, Direction, Message, Note, Outcome, Role, Route, utcnow
from casework.mt.apertium import installed_modes
from tests.api.conftest import Api
from tests.factories import make_case, make_staff


def case_path(case: Case, tail: str = "") -> str:
    return f"/api/v1/cases/{case.reference}{tail}"


def reload(case: Case) -> Case:
    with new_session(expire_on_commit=True) as fresh:
        return fresh.get_one(Case, case.id)


def test_queue_filters_and_rejects_bad_filters(api: Api, session: Session) -> None:
    urgent = make_case(session, urgency="critical")
    make_case(session)
    session.commit()
    response = api.call("GET", "/api/v1/cases?urgency=critical", "ombudsperson")
    assert response.status_code == 200
    assert [c["reference"] for c in response.json["data"]] == [urgent.reference] and response.json["count"] == 1
    bad = api.call("GET", "/api/v1/cases?status=lost", "ombudsperson")
    assert bad.status_code == 400 and "status must be one of" in bad.json["error"]


def test_case_view_shows_conversation_with_translation_and_is_audited(api: Api, session: Session) -> None:
    case = make_case(session, language="tl")
    session.add(
        Message(
            case_id=case.id,
            reporter_id=case.reporter_id,
            direction=Direction.INBOUND,
            channel="sms",
            body="Hindi binabayaran ang sahod ko",
            language="tl",
            translation="My salary is not paid",
            translation_language="en",
            translation_engine="argos",
        )
    )
    session.add(
        Message(
            case_id=case.id,
            reporter_id=case.reporter_id,
            direction=Direction.INBOUND,
            channel="sms",
            body="ደሞዜን",
            language="am",
            needs_human_translation=True,
        )
    )
    session.commit()
    response = api.call("GET", case_path(case).lower(), "ombudsperson")
    assert response.status_code == 200
    first, second = response.json["messages"]
    assert (first["direction"], first["body"], first["translation"], first["translation_engine"]) == (
        "inbound",
        "Hindi binabayaran ang sahod ko",
        "My salary is not paid",
        "argos",
    )
    assert second["translation"] is None and second["needs_human_translation"] is True
    viewed = session.exec(select(CaseEvent).where(CaseEvent.action == "case_viewed")).one()
    assert viewed.actor_id == api.actors["ombudsperson"].id and viewed.detail == {"via": "api"}


def test_reply_needs_a_translation_into_the_reporters_language(api: Api, session: Session) -> None:
    case = make_case(session, language="tl")
    session.commit()
    refused = api.call("POST", case_path(case, "/reply"), "ombudsperson", {"text": "We will call your employer."})
    assert refused.status_code == 400 and "no machine translation from en to tl" in refused.json["error"]
    assert session.exec(select(Message)).all() == []
    session.commit()
    sent = api.call(
        "POST",
        case_path(case, "/reply"),
        "ombudsperson",
        {"text": "We will call your employer.", "sent_text": "Tatawagan namin ang employer mo."},
    )
    assert sent.status_code == 201
    message = sent.json["message"]
    assert (message["body"], message["translation"], message["translation_engine"], message["language"]) == (
        "Tatawagan namin ang employer mo.",
        "We will call your employer.",
        "human",
        "tl",
    )
    assert reload(case).first_response_at is not None


@pytest.mark.skipif(
    "eng-spa" not in installed_modes() or "spa-eng" not in installed_modes(),
    reason="Debian apertium-eng-spa not installed (make system-deps)",
)
def test_reply_to_a_spanish_reporter_is_machine_translated_and_back_translated(api: Api, session: Session) -> None:
    case = make_case(session, language="es")
    session.commit()
    text = "We received your report and will call your employer tomorrow."
    sent = api.call("POST", case_path(case, "/reply"), "ombudsperson", {"text": text})
    assert sent.status_code == 201, sent.json
    message = sent.json["message"]
    assert "informe" in message["body"] and "mañana" in message["body"], message["body"]
    assert (
        message["translation"],
        message["language"],
        message["translation_engine"],
        message["translation_pivot"],
    ) == (text, "es", "apertium", None)
    assert message["translation_model_version"].startswith("apertium-eng-spa@")
    assert "report" in sent.json["back_translation"] and "tomorrow" in sent.json["back_translation"]
    stored = session.get(Message, message["id"])
    assert stored is not None and (stored.body, stored.translation_engine) == (message["body"], "apertium")
    session.commit()


def test_staff_correct_a_message_translation_through_the_api(api: Api, session: Session) -> None:
    case = make_case(session, language="tl", needs_human_translation=True)
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
    session.commit()
    path = case_path(case, f"/messages/{message.id}/translation")
    version = case.version
    fixed = api.call("POST", path, "ombudsperson", {"text": "My salary is not paid", "expected_version": version})
    assert fixed.status_code == 200, fixed.json
    shown = fixed.json["message"]
    assert (
        shown["translation"],
        shown["translation_engine"],
        shown["translation_language"],
        shown["translation_corrected_by_id"],
        shown["needs_human_translation"],
    ) == ("My salary is not paid", "human", "en", api.actors["ombudsperson"].id, False)
    assert fixed.json["case"]["needs_human_translation"] is False and fixed.json["case"]["version"] > version
    stale = api.call("POST", path, "admin", {"text": "Overwritten", "expected_version": version})
    assert stale.status_code == 409
    for label, url, body, status in [
        ("unknown message", case_path(case, "/messages/999999/translation"), {"text": "x"}, 404),
        ("empty", path, {"text": " "}, 400),
        ("not a string", path, {"text": 5}, 400),
        ("missing", path, {}, 400),
    ]:
        response = api.call("POST", url, "ombudsperson", body)
        assert response.status_code == status and response.json["error"], label
    session.refresh(message)
    assert message.translation == "My salary is not paid"
    session.commit()


def test_reply_in_the_working_language_is_sent_as_written(api: Api, session: Session) -> None:
    case = make_case(session, language="en")
    session.commit()
    sent = api.call("POST", case_path(case, "/reply"), "ombudsperson", {"text": "We are on it."})
    assert sent.status_code == 201 and sent.json["message"]["body"] == "We are on it."


def test_assign_transition_notes_mediation_outcome_and_close(api: Api, session: Session) -> None:
    case = make_case(session)
    session.commit()
    ombud, mediator = api.actors["ombudsperson"], api.actors["mediator"]
    r = api.call("POST", case_path(case, "/assign"), "admin", {"assignee_id": ombud.id, "reason": "workload"})
    assert r.status_code == 200 and r.json["case"]["status"] == "assigned"
    r = api.call("POST", case_path(case, "/notes"), "ombudsperson", {"body": "called the employer"})
    assert r.status_code == 201
    r = api.call("POST", case_path(case, "/refer"), "ombudsperson", {"to": "mediation", "mediator_id": mediator.id})
    assert r.status_code == 200 and r.json["case"]["route"] == "mediation"
    when = (utcnow() - timedelta(hours=2)).isoformat()  # entered after the session, as often happens
    r = api.call(
        "POST",
        case_path(case, "/mediation-sessions"),
        "mediator",
        {"mediator_id": mediator.id, "scheduled_at": when, "parties": "worker, employer"},
    )
    assert r.status_code == 201
    session_id = r.json["mediation_session"]["id"]
    r = api.call(
        "POST",
        case_path(case, f"/mediation-sessions/{session_id}/result"),
        "mediator",
        {
            "held_at": utcnow().isoformat(),
            "result": "agreement",
            "notes": "pays in 2 instalments",
            "remedy_lines": [
                {
                    "remedy": "wages_paid",
                    "payer": "employer",
                    "amount": "600.00",
                    "currency": "SAR",
                    "due_on": "2099-01-31",
                },
                {
                    "remedy": "wages_paid",
                    "payer": "employer",
                    "amount": "600.00",
                    "currency": "SAR",
                    "due_on": "2099-02-28",
                },
            ],
            "follow_up_on": "2099-03-01",
        },
    )
    assert r.status_code == 200
    shown = api.call("GET", case_path(case), "mediator").json
    assert [(line["amount"], line["due_on"]) for line in shown["remedy_lines"]] == [
        ("600.00", "2099-01-31"),
        ("600.00", "2099-02-28"),
    ]
    assert shown["mediation_sessions"][0]["follow_up_on"] == "2099-03-01"
    amend = case_path(case, f"/mediation-sessions/{session_id}/amend")
    for bad, message in [
        ({"remedy_lines": "all"}, "remedy_lines must be a list"),
        ({"remedy_lines": [{"remedy": "wages_paid", "payer": "employer", "amount": 600}]}, "decimal string"),
        ({"remedy_lines": [{"remedy": "wages_paid", "payer": "employer", "due_on": "31/01/2099"}]}, "ISO 8601 date"),
        ({"remedy_lines": [{"remedy": "wages_paid", "payer": "employer", "colour": "red"}]}, "unknown field"),
        ({"reason": ""}, "reason"),
    ]:
        body = {"held_at": utcnow().isoformat(), "result": "agreement", "reason": "typo", **bad}
        refused = api.call("POST", amend, "mediator", body)
        assert refused.status_code == 400 and message in refused.json["error"], (bad, refused.json)
    assert len(api.call("GET", case_path(case), "mediator").json["remedy_lines"]) == 2, (
        "a refused amendment changes nothing"
    )
    amended = api.call(
        "POST",
        amend,
        "mediator",
        {"held_at": utcnow().isoformat(), "result": "no_agreement", "reason": "employer withdrew"},
    )
    assert amended.status_code == 200
    assert api.call("GET", case_path(case), "mediator").json["remedy_lines"] == []
    r = api.call(
        "POST",
        case_path(case, "/outcome"),
        "mediator",
        {
            "resolution_type": "remedied",
            "remedies": ["wages_paid"],
            "amount_recovered": "900.00",
            "currency": "SAR",
            "inspection_requested": False,
            "sanction_reported": False,
        },
    )
    assert r.status_code == 201
    resolved = api.call("POST", case_path(case, "/transition"), "mediator", {"to": "resolved"})
    assert resolved.status_code == 200 and resolved.json["case"]["status"] == "resolved"
    # The worker was never sent a reply here: closing says so, and needs confirming.
    unanswered = api.call("POST", case_path(case, "/transition"), "mediator", {"to": "closed"})
    assert unanswered.status_code == 409 and "never received a reply" in unanswered.json["error"]
    bad = api.call("POST", case_path(case, "/transition"), "mediator", {"to": "closed", "confirm_unanswered": "yes"})
    assert bad.status_code == 400 and "confirm_unanswered" in bad.json["error"]
    r = api.call("POST", case_path(case, "/transition"), "mediator", {"to": "closed", "confirm_unanswered": True})
    assert r.status_code == 200 and r.json["case"]["status"] == "closed"
    with new_session() as reading:  # a short read: SQLite lets the next request write only after it
        assert (
            "closed_without_reply" in reading.exec(select(CaseEvent.action).where(CaseEvent.case_id == case.id)).all()
        )
    closed = api.call("POST", case_path(case, "/notes"), "mediator", {"body": "late"})
    assert closed.status_code == 409 and "closed" in closed.json["error"]
    reopened = api.call(
        "POST",
        case_path(case, "/transition"),
        "ombudsperson",
        {"to": "investigating", "reason": "worker reports the employer stopped paying"},
    )
    assert reopened.status_code == 200
    trail = api.call("GET", case_path(case, "/audit"), "admin").json["data"]
    outcome = session.exec(select(Outcome)).one()
    assert str(outcome.amount_recovered) == "900.00" and outcome.currency == "SAR"
    actions = [e["action"] for e in trail]
    for action in (
        "case_assigned",
        "note_added",
        "referred_to_mediation",
        "mediation_scheduled",
        "mediation_result",
        "outcome_recorded",
        "status_changed",
    ):
        assert action in actions, action
    assert "stopped paying" not in str(trail)  # free-text reasons go to encrypted notes
    assert "worker reports the employer stopped paying" in [n.body for n in session.exec(select(Note))]


def test_stale_edit_gets_409_and_changes_nothing(api: Api, session: Session) -> None:
    case = make_case(session)
    session.commit()
    version = case.version
    assert (
        api.call(
            "POST",
            case_path(case, "/assign"),
            "admin",
            {"assignee_id": api.actors["ombudsperson"].id, "expected_version": version},
        ).status_code
        == 200
    )
    other = make_staff(session, Role.OMBUDSPERSON)
    session.commit()
    stale = api.call(
        "POST", case_path(case, "/assign"), "admin", {"assignee_id": other.id, "expected_version": version}
    )
    assert stale.status_code == 409 and "changed by someone else" in stale.json["error"]
    assert reload(case).assignee_id == api.actors["ombudsperson"].id


BAD_REQUESTS = [
    ("not JSON", "/assign", "admin", "x", 400, "JSON object"),
    ("assignee is text", "/assign", "admin", {"assignee_id": "bob"}, 400, "assignee_id must be an integer"),
    ("assign to inactive", "/assign", "admin", {"assignee_id": "INACTIVE"}, 400, "inactive"),
    ("assign analyst", "/assign", "admin", {"assignee_id": "analyst"}, 400, "role is analyst"),
    ("illegal transition", "/transition", "ombudsperson", {"to": "in_mediation"}, 400, "cannot become"),
    ("unknown status", "/transition", "ombudsperson", {"to": "done"}, 400, "to must be one of"),
    ("empty note", "/notes", "ombudsperson", {"body": " "}, 400, "empty"),
    ("note not a string", "/notes", "ombudsperson", {"body": ["x"]}, 400, "must be a string"),
    (
        "naive schedule time",
        "/mediation-sessions",
        "ombudsperson",
        {"mediator_id": "mediator", "scheduled_at": "2030-01-01T10:00", "parties": "a"},
        400,
        "time zone",
    ),
    (
        "garbage schedule time",
        "/mediation-sessions",
        "ombudsperson",
        {"mediator_id": "mediator", "scheduled_at": "soon", "parties": "a"},
        400,
        "ISO 8601",
    ),
    (
        "float amount",
        "/outcome",
        "ombudsperson",
        {"resolution_type": "remedied", "amount_recovered": 10.5, "currency": "USD"},
        400,
        "decimal string",
    ),
    (
        "bad currency",
        "/outcome",
        "ombudsperson",
        {"resolution_type": "remedied", "amount_recovered": "10", "currency": "XYZ"},
        400,
        "ISO 4217",
    ),
    ("bad triage category", "/triage", "ombudsperson", {"category": "theft"}, 400, "theft"),
    ("refer nowhere", "/refer", "ombudsperson", {"to": "court"}, 400, "mediation or inspection"),
    ("reply too long", "/reply", "ombudsperson", {"text": "x" * 2000, "sent_text": "y" * 2000}, 400, "longer"),
]


@pytest.mark.parametrize(
    ("label", "tail", "who", "body", "status", "message"), BAD_REQUESTS, ids=[row[0] for row in BAD_REQUESTS]
)
def test_bad_input_gets_a_clear_json_4xx_and_changes_nothing(
    api: Api, session: Session, label: str, tail: str, who: str, body: Any, status: int, message: str
) -> None:
    case = make_case(session, status=CaseStatus.NEW)
    inactive = make_staff(session, Role.OMBUDSPERSON, active=False)
    session.commit()
    ids = {"INACTIVE": inactive.id, "analyst": api.actors["analyst"].id, "mediator": api.actors["mediator"].id}
    if isinstance(body, dict):
        body = {k: ids.get(v, v) if isinstance(v, str) and k.endswith("_id") else v for k, v in body.items()}
    events_before = len(session.exec(select(CaseEvent)).all())
    session.commit()  # end the read: SQLite allows one writer, and the request must write
    if isinstance(body, str):
        response = api.call("POST", case_path(case, tail), who, data=body, content_type="application/json")
    else:
        response = api.call("POST", case_path(case, tail), who, body)
    assert response.status_code == status, response.json
    assert message in response.json["error"], label
    after = reload(case)
    assert (after.status, after.assignee_id, after.version) == (case.status, case.assignee_id, case.version)
    assert len(session.exec(select(CaseEvent)).all()) == events_before


def test_routing_rules_round_trip_and_validation(api: Api) -> None:
    current = api.call("GET", "/api/v1/routing-rules", "admin")
    assert current.status_code == 200 and current.json["version"] is None and "danger-to-life" in current.json["yaml"]
    bad = api.call("PUT", "/api/v1/routing-rules", "admin", {"yaml": "rules:\n- {name: x, route: court}"})
    assert bad.status_code == 400 and "rule 1 ('x')" in bad.json["error"]
    text = "rules:\n- {name: everyone, route: ombudsperson}\n"
    saved = api.call("PUT", "/api/v1/routing-rules", "admin", {"yaml": text})
    assert saved.status_code == 200 and saved.json["version"] is not None
    assert api.call("GET", "/api/v1/routing-rules", "admin").json["yaml"] == text


def test_openapi_document_lists_every_case_route(api: Api, app: Any) -> None:
    document = api.call("GET", "/api/v1/openapi.json", None).json
    assert document["openapi"] == "3.1.0"
    rules = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    assert rules <= set(document["paths"]), rules - set(document["paths"])


def test_urgent_route_check_mediator_cannot_take_critical(api: Api, session: Session) -> None:
    case = make_case(session, urgency="critical", route=Route.OMBUDSPERSON)
    session.commit()
    r = api.call("POST", case_path(case, "/assign"), "admin", {"assignee_id": api.actors["mediator"].id})
    assert r.status_code == 400 and "role is mediator" in r.json["error"]


def test_every_answer_carrying_a_case_names_its_assignee(api: Api, session: Session) -> None:
    ombud, mediator = api.actors["ombudsperson"], api.actors["mediator"]
    case = make_case(session, language="en")
    session.commit()
    ombud_name, mediator_name = ombud.user.display_name, mediator.user.display_name
    when = (utcnow() + timedelta(days=1)).isoformat()
    steps: list[tuple[str, str, str, dict[str, Any], str]] = [
        ("admin", "POST", "/assign", {"assignee_id": ombud.id}, ombud_name),
        ("ombudsperson", "POST", "/notes", {"body": "called the employer"}, ombud_name),
        ("ombudsperson", "POST", "/reply", {"text": "We are on it."}, ombud_name),
        ("ombudsperson", "POST", "/triage", {"urgency": "high"}, ombud_name),
        ("ombudsperson", "POST", "/transition", {"to": "investigating"}, ombud_name),
        ("ombudsperson", "POST", "/refer", {"to": "mediation", "mediator_id": mediator.id}, mediator_name),
        (
            "mediator",
            "POST",
            "/mediation-sessions",
            {"mediator_id": mediator.id, "scheduled_at": when, "parties": "worker"},
            mediator_name,
        ),
        ("mediator", "POST", "/outcome", {"resolution_type": "withdrawn"}, mediator_name),
        ("mediator", "GET", "", {}, mediator_name),
    ]
    for who, method, tail, body, name in steps:
        response = api.call(method, case_path(case, tail), who, body or None)
        assert response.status_code in (200, 201), (tail, response.json)
        shown = response.json.get("case", response.json)
        assert shown["assignee_name"] == name, tail
    listed = api.call("GET", "/api/v1/cases", "mediator").json["data"]
    assert [row["assignee_name"] for row in listed] == [mediator_name]
