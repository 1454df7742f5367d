"""Triage in the API: needs_human_triage on every case, the indicators found (never the words that
matched), and confirming triage as right."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from app.db import new_session
from casework.models import Case, CaseEvent, TriageFinding
from tests.api.conftest import Api
from tests.factories import make_case
from tests.triage_support import triaged_case


def fresh(case: Case) -> Case:
    with new_session(expire_on_commit=True) as other:
        return other.get_one(Case, case.id)


def test_a_case_lists_its_indicators_without_the_words(api: Api, session: Session) -> None:
    case = triaged_case(session, "They took my passport. Now they locked me in the house.")
    session.commit()
    findings = [
        (f.indicator, f.phrase) for f in session.exec(select(TriageFinding).where(TriageFinding.case_id == case.id))
    ]
    reference = case.reference
    session.commit()  # SQLite: a read left open here would lock out the request
    response = api.call("GET", f"/api/v1/cases/{reference}", "ombudsperson")
    assert response.status_code == 200
    body = response.json
    assert body["needs_human_triage"] is False
    [message] = body["messages"]
    assert body["indicators"] == [
        {"indicator": indicator, "source": "original", "message_id": message["id"]} for indicator, _ in findings
    ]
    assert {"restriction_of_movement", "retention_of_identity_documents"} <= {
        i["indicator"] for i in body["indicators"]
    }
    shown = json.dumps(body["indicators"])
    assert all(phrase and phrase not in shown for _, phrase in findings), "the matched words are not in the API"


def test_the_queue_says_which_cases_need_a_persons_triage_first(api: Api, session: Session) -> None:
    clear = triaged_case(session, "They took my passport")
    unclear = triaged_case(session, "hello? please")
    session.commit()
    data = api.call("GET", "/api/v1/cases", "ombudsperson").json["data"]
    assert [(row["reference"], row["needs_human_triage"]) for row in data] == [
        (unclear.reference, True),
        (clear.reference, False),
    ]


def test_confirming_triage_clears_the_flag_and_is_audited(api: Api, session: Session) -> None:
    case = triaged_case(session, "hello? please")
    session.commit()
    url = f"/api/v1/cases/{case.reference}/triage/confirm"
    stale = api.call("POST", url, "ombudsperson", {"expected_version": case.version - 1})
    assert stale.status_code == 409 and fresh(case).needs_human_triage
    bad = api.client.post(
        url,
        data="[1]",
        headers={"Authorization": f"Bearer {api.actors['ombudsperson'].token}", "Content-Type": "application/json"},
    )
    assert bad.status_code == 400 and "JSON object" in bad.json["error"]
    done = api.call("POST", url, "ombudsperson")  # no body at all
    assert done.status_code == 200 and done.json["case"]["needs_human_triage"] is False
    assert done.json["case"]["version"] == case.version + 1
    again = api.call("POST", url, "admin", {"expected_version": done.json["case"]["version"]})
    assert again.status_code == 200
    events = session.exec(select(CaseEvent).where(CaseEvent.action == "triage_confirmed")).all()
    assert [e.actor_id for e in events] == [api.actors["ombudsperson"].id, api.actors["admin"].id]


def test_confirming_a_case_triage_never_ran_on_is_a_400(api: Api, session: Session) -> None:
    case = make_case(session)
    session.commit()
    response = api.call("POST", f"/api/v1/cases/{case.reference}/triage/confirm", "ombudsperson", {})
    assert response.status_code == 400 and "nothing to confirm" in response.json["error"]


def test_the_openapi_document_describes_triage(api: Api) -> None:
    document = api.call("GET", "/api/v1/openapi.json", None).json
    schemas = document["components"]["schemas"]
    assert schemas["CaseSummary"]["properties"]["needs_human_triage"]["type"] == "boolean"
    assert set(schemas["Indicator"]["properties"]) == {"indicator", "source", "message_id"}
    detail = schemas["CaseDetail"]["allOf"][1]["properties"]
    assert detail["indicators"]["items"] == {"$ref": "#/components/schemas/Indicator"}
    confirm = document["paths"]["/api/v1/cases/{reference}/triage/confirm"]["post"]
    assert confirm["requestBody"]["required"] is False and "200" in confirm["responses"]
