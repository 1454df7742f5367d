"""`flask compliance export|review|disclose-employer` and `flask reporter erase`."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlmodel import Session, select

from casework import cases
from casework.models import Case, CaseEvent, CaseStatus, EmployerDisclosure, Reporter, StaffUser
from tests.closed_cases import close_case


@pytest.fixture
def records(session: Session, run_jobs: Any) -> None:
    for _ in range(6):
        close_case(
            session, closed_at=datetime(2025, 3, 10, tzinfo=UTC), resolution="not_remedied", remedies=(), amount=None
        )
    close_case(session, closed_at=datetime(2025, 3, 12, tzinfo=UTC), country="LB")
    session.rollback()
    run_jobs(("reports",))


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_writes_the_public_release(runner: FlaskCliRunner, records: None, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"open-data.{fmt}"
    result = runner.invoke(args=["compliance", "export", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 6 records" in result.output and "exporting records" in result.output
    text = out.read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines())) if fmt == "csv" else json.loads(text)
    assert len(rows) == 6 and {r["country"] for r in rows} == {"MY"}
    assert not list(tmp_path.glob("*.partial"))


def test_export_refuses_a_bad_period(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        args=[
            "compliance",
            "export",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "x.csv"),
            "--period",
            "2025-05..2025-01",
        ]
    )
    assert result.exit_code == 2 and "starts after" in result.output


def test_review_lists_crossed_revision_triggers(runner: FlaskCliRunner, records: None) -> None:
    result = runner.invoke(args=["compliance", "review", "--period", "2025-01..2025-12"])
    assert result.exit_code == 0, result.output
    assert re.search(r"remedy_share\s+0\.14", result.output)
    assert "Revision triggers crossed: remedy_share" in result.output


def test_review_refuses_a_broken_targets_file(runner: FlaskCliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "targets.yaml"
    bad.write_text("indicators:\n  happiness: {target: 1, trigger: 0, direction: higher}\n")
    result = runner.invoke(args=["compliance", "review", "--period", "2025-01..2025-12", "--targets", str(bad)])
    assert result.exit_code == 1 and "unknown indicator" in result.output


def test_disclose_employer_needs_an_admin(runner: FlaskCliRunner, session: Session) -> None:
    session.add(StaffUser(email="admin@test.example", role="admin", password_hash="x"))
    session.add(StaffUser(email="analyst@test.example", role="analyst", password_hash="x"))
    session.commit()
    args = ["compliance", "disclose-employer", "Acme Plantations Sdn Bhd", "--reason", "sanctioned"]
    assert runner.invoke(args=[*args, "--admin", "analyst@test.example"]).exit_code == 1
    result = runner.invoke(args=[*args, "--admin", "admin@test.example"])
    assert result.exit_code == 0, result.output
    assert session.exec(select(EmployerDisclosure)).one().public_name == "Acme Plantations Sdn Bhd"
    assert session.exec(select(CaseEvent).where(CaseEvent.action == "employer_disclosed")).one()


def test_reporter_erase(runner: FlaskCliRunner, session: Session) -> None:
    case = close_case(session, closed_at=datetime.now(UTC) - timedelta(days=3))
    reporter = session.get(Reporter, case.reporter_id)
    other = cases.open_case(session, reporter=reporter, channel="sms", language="ne")
    session.commit()
    assert runner.invoke(args=["reporter", "erase", "not-a-ref"]).exit_code == 2
    assert runner.invoke(args=["reporter", "erase", "ZZZZ-ZZZZ"]).exit_code == 1
    refused = runner.invoke(args=["reporter", "erase", case.reference.lower()])
    assert refused.exit_code == 1 and other.reference in refused.output
    cases.transition(session, other, CaseStatus.CLOSED)
    session.commit()
    result = runner.invoke(args=["reporter", "erase", case.reference])
    assert result.exit_code == 0 and "2 case(s)" in result.output
    session.expire_all()
    assert session.get(Reporter, reporter.id).contact is None
    assert session.get(Case, case.id).erased_at is not None
