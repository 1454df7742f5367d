"""Media files from fetch to erasure: what intake stores, retention and erasure on request delete.

Each test goes through the real path: a signed WhatsApp webhook with two media, the intake and
fetch jobs against the fake Twilio server, then erasure by the retention job or by the
operator's `flask reporter erase`, and checks the files on disk are gone.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlmodel import select

from app.db import session_scope
from app.jobs import apply_retention
from app.media import check_media, media_file, media_root, store_media
from casework import cases
from casework.models import Case, CaseStatus, MediaAttachment, utcnow
from tests.channels.conftest import load_payload
from tests.fakes import FakeTwilio

CONTENTS = [b"\xff\xd8\xff\xe0 a photo of a payslip", b"%PDF-1.7 a contract"]


def receive_two_media(post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio) -> list[Path]:
    """A WhatsApp report with two media, processed and fetched; the stored files."""
    form = load_payload("whatsapp_two_media")
    for index, content in enumerate(CONTENTS):
        path = "/" + form[f"MediaUrl{index}"].split("/", 3)[3]
        fake_twilio.media[path] = (content, form[f"MediaContentType{index}"])
    assert post_signed("/channels/twilio/whatsapp", form).status_code == 200
    run_jobs()
    run_jobs()
    with session_scope() as session:
        stored = [a.stored_path for a in session.exec(select(MediaAttachment).order_by(MediaAttachment.id)).all()]
    files = [media_file(path) for path in stored if path is not None]
    assert len(files) == 2 and all(f.is_file() for f in files)
    return files


def close_the_case(closed_days_ago: int) -> str:
    with session_scope() as session:
        case = session.exec(select(Case)).one()
        cases.transition(session, case, CaseStatus.CLOSED)
        case.closed_at = utcnow() - timedelta(days=closed_days_ago)
        return case.reference


def test_retention_deletes_the_fetched_files(
    app: Flask, post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    files = receive_two_media(post_signed, run_jobs, fake_twilio)
    close_the_case(closed_days_ago=app.config["RETENTION_DAYS"] + 1)
    assert apply_retention() == {"erased": 1}
    assert not any(f.exists() for f in files)
    with session_scope() as session:
        assert all(a.stored_path is None for a in session.exec(select(MediaAttachment)).all())
        assert check_media(session).consistent


def test_erasure_on_request_deletes_the_fetched_files(
    app: Flask, runner: Any, post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    files = receive_two_media(post_signed, run_jobs, fake_twilio)
    reference = close_the_case(closed_days_ago=1)
    result = runner.invoke(args=["reporter", "erase", reference])
    assert result.exit_code == 0, result.output
    assert not any(f.exists() for f in files)
    assert not any(media_root().rglob("*.bin"))


def test_orphans_lists_files_without_rows_and_rows_without_files(
    app: Flask, runner: Any, post_signed: Any, run_jobs: Any, fake_twilio: FakeTwilio
) -> None:
    files = receive_two_media(post_signed, run_jobs, fake_twilio)
    assert runner.invoke(args=["media", "orphans"]).exit_code == 0
    stray = media_file(store_media(999, 999, b"left behind"))
    files[0].unlink()
    with session_scope() as session:
        lost_id = session.exec(select(MediaAttachment.id).order_by(MediaAttachment.id)).first()
    result = runner.invoke(args=["media", "orphans"])
    assert result.exit_code == 1
    assert "file without row: 999/999.bin" in result.output
    assert f"row without file: attachment {lost_id}" in result.output
    runner.invoke(args=["media", "orphans", "--delete"])
    assert not stray.exists() and files[1].exists()
