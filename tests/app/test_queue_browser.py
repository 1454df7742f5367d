"""The queue in a real browser (Chromium via Playwright): order, due column, preview, the
wrote-back badge and bulk assignment, at 360 px and on a desktop (screenshots)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from casework.models import Case, Role, Route, Urgency, utcnow
from tests.app.console_support import add_message, fetch, make_case, make_staff, staff_with_password
from tests.app.test_console_browser import DESKTOP, PHONE, sign_in_through_the_form, watch_console
from tests.conftest import ARTIFACTS


@pytest.mark.browser
def test_queue_order_badges_and_bulk_assign(page: Any, live_server: str, session: Session) -> None:
    errors = watch_console(page)
    user = staff_with_password(session, Role.OMBUDSPERSON, "ombud@tulay.test", display_name="Rosa Ombud")
    user.time_zone = "Asia/Manila"
    colleague = make_staff(session, Role.OMBUDSPERSON)
    colleague.display_name = "Ana Colleague"
    now = utcnow()
    calm = make_case(session, route=Route.OMBUDSPERSON, first_response_due_at=now + timedelta(hours=30))
    urgent = make_case(
        session,
        route=Route.OMBUDSPERSON,
        urgency=Urgency.CRITICAL,
        first_response_due_at=now - timedelta(hours=2),
        reporter_wrote_back_at=now,
        country="SA",
        sector="domestic_work",
    )
    add_message(
        session,
        urgent,
        "Kinuha ng amo ang pasaporte ko at hindi ako makalabas ng bahay",
        translation="My boss took my passport and I cannot leave the house",
    )
    session.commit()

    sign_in_through_the_form(page, live_server)
    text = page.inner_text("table")
    assert text.index(urgent.reference) < text.index(calm.reference)
    assert "overdue by 2 h" in text and "in 29 h" in text
    assert "reporter wrote back" in text and "My boss took my passport" in text

    shots = Path("/tmp/shots")
    shots.mkdir(parents=True, exist_ok=True)
    ARTIFACTS.mkdir(exist_ok=True)
    for label, size in (("360", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(shots / f"queue-{label}.png"), full_page=True)
        page.screenshot(path=str(ARTIFACTS / f"queue-{label}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"

    page.check(f"input[name=reference][value='{urgent.reference}']")
    page.check(f"input[name=reference][value='{calm.reference}']")
    page.select_option("#bulk select[name=assignee_id]", str(colleague.id))
    page.click("#bulk button:has-text('Assign')")
    page.wait_for_load_state()
    assert "2 cases assigned." in page.content()
    session.expire_all()
    assigned = {c.reference: c.assignee_id for c in fetch(session, select(Case))}
    assert assigned == {urgent.reference: colleague.id, calm.reference: colleague.id}
    assert errors == []
