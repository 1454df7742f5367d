"""The console in a real browser (Chromium via Playwright) against a live server."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from app.mt import EXTENSION_KEY as MT_EXTENSION_KEY
from casework.models import CaseStatus, Message, Note, Role, Urgency
from casework.translation import TranslationService
from tests.app.console_support import PASSWORD, add_message, fetch, make_case, staff_with_password
from tests.app.test_console_views import FakeEngine


@pytest.fixture
def seeded(app: Flask, session: Session) -> dict[str, Any]:
    app.extensions[MT_EXTENSION_KEY] = TranslationService([FakeEngine()])
    user = staff_with_password(session, Role.OMBUDSPERSON, "ombud@tulay.test", display_name="Rosa Ombud")
    urgent = make_case(
        session, language="tl", urgency=Urgency.CRITICAL, status=CaseStatus.ASSIGNED, assignee_id=user.id
    )
    add_message(
        session,
        urgent,
        "Kinuha ng amo ang pasaporte ko",
        translation="My boss took my passport",
        translation_language="en",
        translation_engine="argos",
    )
    calm = make_case(session, language="tl")
    session.commit()
    return {"user": user, "urgent": urgent.reference, "calm": calm.reference}


def sign_in_through_the_form(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/console/")
    assert "/console/login" in page.url
    page.fill("#email", "ombud@tulay.test")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{live_server}/console/")


@pytest.mark.browser
def test_sign_in_filter_open_case_add_note_and_reply(
    page: Any, live_server: str, session: Session, seeded: dict[str, Any]
) -> None:
    sign_in_through_the_form(page, live_server)
    assert seeded["urgent"] in page.content() and seeded["calm"] in page.content()

    page.select_option("select[name=urgency]", "critical")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**urgency=critical**")
    assert seeded["urgent"] in page.content() and seeded["calm"] not in page.content()

    page.click(f"text={seeded['urgent']}")
    page.wait_for_url(f"**/console/cases/{seeded['urgent']}")
    assert page.inner_text(".message .sides").count("My boss took my passport") == 1

    page.fill("#note-body", "Employer holds the passport; call the embassy.")
    page.click("button:has-text('Add note')")
    page.wait_for_url("**#notes")
    assert "Employer holds the passport; call the embassy." in page.inner_text("#notes")

    page.fill("#reply-text", "Keep safe; we are contacting the embassy.")
    page.click("button:has-text('Preview translation')")
    assert "[en] [tl] Keep safe; we are contacting the embassy." in page.inner_text(".preview")
    page.click("button:has-text('Send reply')")
    page.wait_for_url("**#conversation")
    assert "Reply queued for sending." in page.content()

    notes = fetch(session, select(Note))
    replies = fetch(session, select(Message).where(Message.kind == "reply"))
    assert [n.body for n in notes] == ["Employer holds the passport; call the embassy."]
    assert [(m.body, m.translation_engine) for m in replies] == [
        ("[tl] Keep safe; we are contacting the embassy.", "fake-mt")
    ]


@pytest.mark.browser
def test_keyboard_skip_link_and_visible_focus(page: Any, live_server: str, seeded: dict[str, Any]) -> None:
    sign_in_through_the_form(page, live_server)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to main content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "q", "the first control of the queue is its search"
