"""Casework jobs and settings: SLA escalation (periodic, idempotent), staff alerts, rule files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from app.config import ConfigError, load_settings
from app.jobs import escalate_overdue_cases, send_staff_alert
from app.queues import get_queues
from app.worker import PERIODIC_JOBS
from casework.models import CaseEvent, Role, utcnow
from tests.factories import make_case, make_staff


def test_escalation_is_a_periodic_job() -> None:
    assert ("app.jobs.escalate_overdue_cases", "reports", "SLA_CHECK_INTERVAL_SECONDS") in PERIODIC_JOBS


def test_escalation_job_escalates_once_and_alerts(app: Any, session: Session, run_jobs: Any) -> None:
    make_staff(session, Role.OMBUDSPERSON, is_supervisor=True)
    late = make_case(session, first_response_due_at=utcnow() - timedelta(minutes=1))
    session.commit()
    assert escalate_overdue_cases() == {"escalated": 1, "alerts_requeued": 0, "nearing": 0}
    assert get_queues()["outbound"].job_ids == [f"alert-sla_escalation-{late.id}"]
    run_jobs(("outbound",))
    assert escalate_overdue_cases() == {"escalated": 0, "alerts_requeued": 0, "nearing": 0}
    sent = session.exec(select(CaseEvent).where(CaseEvent.action == "alert_sent")).one()
    assert sent.detail == {"kind": "sla_escalation", "via": "log"}


def test_alert_is_sent_once(app: Any, session: Session) -> None:
    case = make_case(session, urgency="critical")
    session.commit()
    assert send_staff_alert(case.id, "urgent") == "log"
    assert send_staff_alert(case.id, "urgent") == "already-sent"
    assert send_staff_alert(case.id, "nonsense") == "skipped"


def test_unreachable_alert_webhook_fails_the_job_for_retry(make_app: Any, session: Session) -> None:
    other = make_app(ALERT_WEBHOOK_URL="http://127.0.0.1:9/alerts")  # discard port: connection refused
    case = make_case(session, urgency="critical")
    session.commit()
    with other.app_context(), pytest.raises(Exception, match=r"(?i)connection"):
        send_staff_alert(case.id or 0, "urgent")
    session.expire_all()
    assert session.exec(select(CaseEvent).where(CaseEvent.action == "alert_sent")).all() == []


@pytest.mark.parametrize(
    ("label", "setting", "content", "message"),
    [
        (
            "rule routes critical to mediation",
            "ROUTING_RULES_PATH",
            "rules:\n- {name: fast, route: mediation, when: {urgency: [critical]}}\n"
            "- {name: rest, route: ombudsperson}\n",
            "ROUTING_RULES_PATH: .*rule 1 \\('fast'\\): critical cases must go to an ombudsperson",
        ),
        ("missing rules file", "ROUTING_RULES_PATH", None, "ROUTING_RULES_PATH: cannot read routing rules"),
        (
            "bad SLA policy",
            "SLA_POLICY_PATH",
            "default: {first_response_hours: 0, resolution_days: 1}\n",
            "SLA_POLICY_PATH: default.first_response_hours: must be a positive number",
        ),
        ("bad lexicon", "TRIAGE_LEXICON_PATH", "languages: [es]\n", "TRIAGE_LEXICON_PATH: 'languages'"),
    ],
)
def test_bad_casework_data_file_stops_start_naming_it(
    tmp_path: Path, config: dict[str, Any], label: str, setting: str, content: str | None, message: str
) -> None:
    path = tmp_path / "data.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={}, overrides={**config, setting: str(path)}, dotenv_path=tmp_path / "none")


def test_routing_rules_cli_shows_and_loads_validated_rules(runner: Any, session: Session, tmp_path: Path) -> None:
    admin = make_staff(session, Role.ADMIN, email="admin@tulay.test")
    make_staff(session, Role.OMBUDSPERSON, email="ombud@tulay.test")
    session.commit()
    shown = runner.invoke(args=["routing-rules", "show"])
    assert shown.exit_code == 0 and "# defaults" in shown.output and "danger-to-life" in shown.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n- {name: x, route: court}\n", encoding="utf-8")
    refused = runner.invoke(args=["routing-rules", "load", str(bad), "--actor", "admin@tulay.test"])
    assert refused.exit_code == 1 and "rule 1 ('x')" in refused.output
    good = tmp_path / "good.yaml"
    good.write_text("rules:\n- {name: everyone, route: ombudsperson}\n", encoding="utf-8")
    not_admin = runner.invoke(args=["routing-rules", "load", str(good), "--actor", "ombud@tulay.test"])
    assert not_admin.exit_code == 1 and "not an active admin" in not_admin.output
    loaded = runner.invoke(args=["routing-rules", "load", str(good), "--actor", "admin@tulay.test"])
    assert loaded.exit_code == 0 and "saved routing rules version" in loaded.output
    shown = runner.invoke(args=["routing-rules", "show"])
    assert "everyone" in shown.output and "# version" in shown.output
    event = session.exec(select(CaseEvent).where(CaseEvent.action == "routing_rules_saved")).one()
    assert event.actor_id == admin.id
