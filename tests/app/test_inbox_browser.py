"""The console inbox in a real browser (Chromium via Playwright): unread count, mark read, 360 px."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from casework.models import Role
from casework.notifications import notify
from tests.app.console_support import make_case, sign_in_in_browser, staff_with_password
from tests.app.test_console_browser import DESKTOP, PHONE, watch_console

SHOTS = Path(os.environ.get("TULAY_SHOTS", "/tmp/shots"))


@pytest.mark.browser
def test_inbox_marks_read_and_fits_a_phone(page: Any, live_server: str, session: Session) -> None:
    me = staff_with_password(session, Role.OMBUDSPERSON, "ombud@tulay.test", display_name="Rosa Ombud")
    other = staff_with_password(session, Role.OMBUDSPERSON, "other@tulay.test", display_name="Otto Other")
    cases = [make_case(session) for _ in range(3)]
    for kind, case in zip(("assigned", "reporter_follow_up", "sla_nearing"), cases, strict=True):
        notify(session, kind=kind, case=case, event_key="browser", recipients=[me.id])
        session.flush()
    notify(session, kind="sla_breached", case=cases[0], event_key="browser", recipients=[other.id])
    session.commit()
    errors = watch_console(page)
    sign_in_in_browser(page, live_server, "ombud@tulay.test")
    assert "Inbox 3 unread" in page.locator("nav").inner_text()
    page.click("nav >> text=Inbox")
    page.wait_for_url("**/console/inbox")
    rows = page.locator("tbody tr")
    assert rows.count() == 3  # not the other user's
    assert "A case is close to missing its deadline" in rows.first.inner_text()  # newest first
    assert "A case missed its deadline" not in page.content()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("360", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"inbox-{label}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the inbox page scrolls sideways at 360 px ({width} px)"
    rows.first.locator("button:has-text('Mark read')").click()
    page.wait_for_url("**/console/inbox")
    assert "Inbox 2 unread" in page.locator("nav").inner_text()
    page.click("button:has-text('Mark all read')")
    page.wait_for_url("**/console/inbox")
    assert "2 notifications marked read." in page.locator(".flash").inner_text()
    assert "unread" not in page.locator("nav").inner_text()
    assert page.locator("tbody button").count() == 0
    page.screenshot(path=str(SHOTS / "inbox-360-all-read.png"), full_page=True)
    assert errors == []
