"""/console/users and /console/account in Chromium: styled, no console error or CSP violation,
usable at 360 px. Screenshots go to /tmp/shots/users-*.png and account-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from app.security import issue_api_token, verify_password
from casework.models import Role
from tests.app.console_support import PASSWORD, reload, sign_in_in_browser, staff_with_password
from tests.app.test_console_browser import DESKTOP, PHONE, watch_console

SHOTS = Path("/tmp/shots")
NEW_PASSWORD = "a brand new passphrase 42"


def shots(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    for label, size in (("360", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        # Nothing is wider than the screen: no sideways scrolling of the page itself.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{name} at {label}"
    page.set_viewport_size(PHONE)


@pytest.mark.browser
def test_admin_manages_accounts_and_a_user_changes_their_password(
    page: Any, live_server: str, session: Session
) -> None:
    admin = staff_with_password(session, Role.ADMIN, "admin@tulay.test", display_name="Ana Admin")
    mediator = staff_with_password(session, Role.MEDIATOR, "mediator@tulay.test", totp_secret="JBSWY3DPEHPK3PXP")
    staff_with_password(session, Role.ANALYST, "a.very.long.address.for.the.analyst@ministry.example.org")
    issue_api_token(session, admin)
    session.commit()
    errors = watch_console(page)
    sign_in_in_browser(page, live_server, "admin@tulay.test")
    page.click("nav >> text=Users")
    page.wait_for_url("**/console/users")
    assert page.locator("section.panel").count() == 3
    assert page.evaluate("getComputedStyle(document.querySelector('.panel')).borderTopStyle") == "solid"  # styled

    mediator_panel = f"#user-{mediator.id}"
    page.click(f"{mediator_panel} >> button:has-text('Issue reset link')")
    link = page.locator(".preview code").inner_text()
    assert "/console/password-reset/tlr_" in link
    shots(page, "users")
    page.click(f"{mediator_panel} >> button:has-text('Reset two-step sign-in')")
    assert "Two-step sign-in is off for mediator@tulay.test" in page.locator(".flash").inner_text()
    page.select_option(f"{mediator_panel} select[name=role]", "ombudsperson")
    page.click(f"{mediator_panel} >> button:has-text('Change role')")
    assert "mediator@tulay.test is now Ombudsperson" in page.locator(".flash").inner_text()
    page.click(f"{mediator_panel} >> button:has-text('Deactivate')")
    assert "deactivated" in page.locator(f"{mediator_panel}").inner_text()
    assert reload(session, mediator).active is False
    shots(page, "users-deactivated")
    page.click(f"{mediator_panel} >> button:has-text('Reactivate')")
    assert "mediator@tulay.test can sign in again" in page.locator(".flash").inner_text()
    assert reload(session, mediator).active is True

    page.click("nav >> text=Account")
    page.wait_for_url("**/console/account")
    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#confirm_password", NEW_PASSWORD)
    page.click("button:has-text('Change password')")
    page.wait_for_url("**/console/account")
    assert "Your password is changed" in page.locator(".flash").inner_text()
    assert verify_password(reload(session, admin), NEW_PASSWORD)
    assert page.locator("table button:has-text('Revoke')").count() == 1
    shots(page, "account")
    page.click("table button:has-text('Revoke')")
    assert "You have no API tokens" in page.content()
    assert errors == []
