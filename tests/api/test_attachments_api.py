"""Evidence attachments in the JSON API: listed in the case JSON, served typed by their bytes, audited."""

from __future__ import annotations

from flask import Flask
from sqlmodel import Session, select

from casework.models import CaseEvent, CaseStatus
from tests.api.conftest import Api
from tests.app.test_attachments import PDF, attach
from tests.factories import make_case as make_api_case


def test_the_api_lists_and_serves_attachments_the_same_way(api: Api, app: Flask, session: Session) -> None:
    mediator = api.actors["mediator"]
    case = make_api_case(session, status=CaseStatus.ASSIGNED, assignee_id=mediator.id)
    session.commit()
    contract = attach(session, app, case, PDF, "image/png")
    detail = api.call("GET", f"/api/v1/cases/{case.reference}", "mediator").json
    url = f"/api/v1/cases/{case.reference}/attachments/{contract.id}"
    assert detail["attachments"] == [
        {
            "id": contract.id,
            "message_id": contract.message_id,
            "declared_content_type": "image/png",
            "size_bytes": len(PDF),
            "received_at": detail["messages"][0]["created_at"],
            "state": "stored",
            "url": url,
        }
    ]
    response = api.call("GET", url, "mediator")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{case.reference}-{contract.id}.pdf"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    foreign = api.call("GET", url, "other_mediator")
    assert (foreign.status_code, foreign.json) == (404, {"error": "case not found"})
    assert api.call("GET", url, "analyst").status_code == 403
    assert api.call("GET", url, None).status_code == 401
    events = session.exec(select(CaseEvent).where(CaseEvent.action == "attachment_viewed")).all()
    assert [(e.actor_id, e.detail["via"]) for e in events] == [(mediator.id, "api")]


def test_the_attachment_route_and_list_are_in_the_openapi_document(api: Api) -> None:
    document = api.call("GET", "/api/v1/openapi.json", None).json
    operation = document["paths"]["/api/v1/cases/{reference}/attachments/{attachment_id}"]["get"]
    assert {"200", "401", "403", "404"} <= set(operation["responses"])
    assert "application/pdf" in operation["responses"]["200"]["content"]
    detail = document["components"]["schemas"]["CaseDetail"]["allOf"][1]["properties"]
    assert detail["attachments"]["items"] == {"$ref": "#/components/schemas/Attachment"}
    assert "url" in document["components"]["schemas"]["Attachment"]["properties"]
