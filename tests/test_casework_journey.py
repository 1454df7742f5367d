"""The whole casework journey with a real worker process: an SMS is stored, the worker
triages, routes, assigns and acknowledges it, an urgent case alerts staff, then staff reply,
mediate, record the outcome and close the case through the API; every step is audited."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlmodel import Session, col, select

from app.db import new_session
from app.security import issue_api_token
from casework.intake import InboundMessage, accept_inbound
from casework.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Category,
    DeliveryStatus,
    Direction,
    Message,
    Role,
    Route,
    Urgency,
    utcnow,
)
from tests.factories import make_staff
from tests.processes import cli_env, run_worker

ACCOUNT_SID = "AC" + "0" * 32
WORKER_PHONE = "+639171234567"
DANGER_PHONE = "+639179876543"


class Recorder(BaseHTTPRequestHandler):
    """A local stand-in for Twilio's REST API and for the alert webhook; records what it got."""

    received: list[tuple[str, dict[str, Any]]] = []

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if self.path.startswith("/alerts"):
            Recorder.received.append(("alert", json.loads(raw)))
            self.send_response(204)
            self.end_headers()
            return
        form = {k: v[0] for k, v in parse_qs(raw).items()}
        Recorder.received.append(("sms", form))
        body = json.dumps(
            {
                "sid": f"SM{len(Recorder.received):032d}",
                "status": "queued",
                "num_segments": "1",
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
            }
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def edge() -> Iterator[str]:
    Recorder.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def store(session: Session, sid: str, sender: str, body: str) -> None:
    accept_inbound(
        session, InboundMessage(channel="sms", external_id=sid, sender=sender, body=body, received_at=utcnow())
    )
    session.commit()


def actions(case_id: int) -> list[str]:
    with new_session(expire_on_commit=True) as check:
        return list(
            check.exec(select(CaseEvent.action).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))).all()
        )


def test_sms_to_closed_case_with_a_real_worker(
    make_app: Any, config: dict[str, Any], edge: str, tmp_path: Path
) -> None:
    changes = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": "test-token",
        "TWILIO_SMS_FROM": "+15550001111",
        "TWILIO_API_BASE_URL": edge,
        "ALERT_WEBHOOK_URL": f"{edge}/alerts",
    }
    app = make_app(**changes)
    env = cli_env(config, **changes)
    worker_log = tmp_path / "worker.log"
    client = app.test_client()
    with app.app_context(), new_session() as session:
        ombud = make_staff(
            session, Role.OMBUDSPERSON, languages=["en", "tl"], team="rapid-response", is_supervisor=True
        )
        mediator = make_staff(session, Role.MEDIATOR, languages=["en", "tl"], team="mediation")
        make_staff(session, Role.MEDIATOR, languages=["en"], team="mediation")  # no Tagalog: not chosen
        token = issue_api_token(session, mediator)
        session.commit()
        store(
            session,
            "SM" + "a" * 32,
            WORKER_PHONE,
            "Hindi binabayaran ang sahod ko ng tatlong buwan. Kasambahay ako sa Riyadh.",
        )
        store(session, "SM" + "b" * 32, DANGER_PHONE, "They took my passport and I am locked in the house, please help")

        logs = run_worker(env, "intake", "outbound", log=worker_log)

        wages = session.exec(
            select(Case).join(Message, col(Message.case_id) == Case.id).where(Message.provider_id == "SM" + "a" * 32)
        ).one()
        danger = session.exec(
            select(Case).join(Message, col(Message.case_id) == Case.id).where(Message.provider_id == "SM" + "b" * 32)
        ).one()
        assert (wages.category, wages.urgency, wages.country, wages.sector) == (
            Category.WAGE_THEFT,
            Urgency.NORMAL,
            "SA",
            "domestic_work",
        )
        assert (wages.route, wages.team, wages.assignee_id, wages.status) == (
            Route.MEDIATION,
            "mediation",
            mediator.id,
            CaseStatus.ASSIGNED,
        )
        assert wages.first_response_due_at == wages.created_at + timedelta(hours=48)
        assert (danger.urgency, danger.route, danger.assignee_id) == (Urgency.CRITICAL, Route.OMBUDSPERSON, ombud.id)
        assert danger.first_response_due_at == danger.created_at + timedelta(hours=2)

        alerts = [payload for kind, payload in Recorder.received if kind == "alert"]
        assert [a["reference"] for a in alerts] == [danger.reference] and alerts[0]["urgency"] == "critical"
        assert "passport" not in json.dumps(alerts) and "639179876543" not in json.dumps(alerts)
        acks = [form for kind, form in Recorder.received if kind == "sms"]
        assert sorted(form["To"] for form in acks) == sorted([WORKER_PHONE, DANGER_PHONE])
        assert any(wages.reference in form["Body"] for form in acks)

        session.commit()  # end this session's read transaction (SQLite: one writer at a time)
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/api/v1/cases/{wages.reference}"
        reply = client.post(
            f"{path}/reply",
            headers=headers,
            json={
                "text": "We will contact your employer this week.",
                "sent_text": "Kokontakin namin ang iyong employer ngayong linggo.",
                "expected_version": wages.version,
            },
        )
        assert reply.status_code == 201, reply.json
        run_worker(env, "intake", "outbound", log=worker_log)
        sent = [form for kind, form in Recorder.received if kind == "sms"][-1]
        assert (sent["To"], sent["Body"]) == (WORKER_PHONE, "Kokontakin namin ang iyong employer ngayong linggo.")

        scheduled = client.post(
            f"{path}/mediation-sessions",
            headers=headers,
            json={
                "mediator_id": mediator.id,
                "scheduled_at": (utcnow() - timedelta(hours=2)).isoformat(),  # entered after the session
                "parties": "worker; employer; recruitment agency",
            },
        )
        assert scheduled.status_code == 201, scheduled.json
        meeting = scheduled.json["mediation_session"]["id"]
        assert (
            client.post(
                f"{path}/mediation-sessions/{meeting}/result",
                headers=headers,
                json={"held_at": utcnow().isoformat(), "result": "agreement", "notes": "back pay in two instalments"},
            ).status_code
            == 200
        )
        assert (
            client.post(
                f"{path}/outcome",
                headers=headers,
                json={
                    "resolution_type": "remedied",
                    "remedies": ["wages_paid"],
                    "amount_recovered": "2400.00",
                    "currency": "SAR",
                    "inspection_requested": False,
                    "sanction_reported": False,
                },
            ).status_code
            == 201
        )
        for status in ("resolved", "closed"):
            moved = client.post(f"{path}/transition", headers=headers, json={"to": status})
            assert moved.status_code == 200 and moved.json["case"]["status"] == status

    with app.app_context():
        trail = actions(wages.id or 0)
        for action in (
            "case_opened",
            "message_received",
            "triaged",
            "routed",
            "case_assigned",
            "reply_queued",
            "mediation_scheduled",
            "mediation_result",
            "outcome_recorded",
            "status_changed",
        ):
            assert action in trail, action
        assert (
            trail.index("triaged")
            < trail.index("routed")
            < trail.index("reply_queued")
            < trail.index("outcome_recorded")
        )
        assert "alert_sent" in actions(danger.id or 0)
        with new_session(expire_on_commit=True) as check:
            reply_row = check.exec(
                select(Message).where(Message.direction == Direction.OUTBOUND, Message.kind == "reply")
            ).one()
            assert reply_row.delivery_status == DeliveryStatus.ACCEPTED
            assert reply_row.translation == "We will contact your employer this week."
        assert WORKER_PHONE[1:] not in logs and DANGER_PHONE[1:] not in logs and "passport" not in logs
