"""The console in a real browser (Chromium via Playwright) against a live server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from app.mt import EXTENSION_KEY as MT_EXTENSION_KEY
from casework.mediation import schedule_mediation
from casework.models import CaseStatus, Message, Note, Role, Urgency, utcnow
from casework.translation import TranslationService
from tests.app.console_support import add_message, fetch, make_case, sign_in_in_browser, staff_with_password
from tests.app.test_console_views import FakeEngine
from tests.conftest import ARTIFACTS
from tests.triage_support import triaged_case


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
    sign_in_in_browser(page, live_server, "ombud@tulay.test")


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

    page.click("summary:has-text('Add a note')")  # every form is folded until opened
    page.fill("#note-body", "Employer holds the passport; call the embassy.")
    page.click("button:has-text('Add note')")
    page.wait_for_url("**#notes")
    assert "Employer holds the passport; call the embassy." in page.inner_text("#notes")

    page.click("summary:has-text('Write a reply')")
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


# --- why triage decided, "Triage is right", and the accuracy page ----------------------------

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


def watch_console(page: Any) -> list[str]:
    """Every console error and uncaught page error (a CSP violation included) is collected."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def fill_in_an_agreement(page: Any, amount: str, currency: str) -> tuple[Any, str]:
    """The open result form of the case's first session: held an hour ago, an agreement whose one
    term is wages of `amount` `currency`, due in 30 days. Returns the form and the due date."""
    form = page.locator("#mediation form").first
    form.locator("input[name=held_at]").fill((utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    form.locator("select[name=result]").select_option("agreement")
    due = (utcnow() + timedelta(days=30)).date().isoformat()
    row = form.locator(".term-row").first
    row.locator("select[name=term_remedy]").select_option("wages_paid")
    row.locator("input[name=term_amount]").fill(amount)
    row.locator("input[name=term_currency]").fill(currency)
    row.locator("input[name=term_due]").fill(due)
    return form, due


def screenshots(page: Any, name: str, *parts: str) -> None:
    """The whole page at 360 px and on a desktop, and each of `parts` (selectors) alone at 360 px."""
    ARTIFACTS.mkdir(exist_ok=True)
    for label, size in (("360", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    for index, selector in enumerate(parts, start=1):
        page.locator(selector).first.screenshot(path=str(ARTIFACTS / f"{name}-360-part{index}.png"))


@pytest.mark.browser
def test_why_triage_decided_and_triage_is_right(page: Any, live_server: str, session: Session) -> None:
    user = staff_with_password(session, Role.OMBUDSPERSON, "ombud@tulay.test", display_name="Rosa Ombud")
    danger = triaged_case(session, "<script>alert(1)</script> They took my passport. Now they LOCKED ME in the house.")
    unclear = triaged_case(session, "hello? please")
    session.commit()
    errors = watch_console(page)
    sign_in_through_the_form(page, live_server)
    first_row = page.locator("tbody tr").first
    assert unclear.reference in first_row.inner_text() and "needs human triage" in first_row.inner_text()
    screenshots(page, "triage-queue", "table")

    page.goto(f"{live_server}/console/cases/{danger.reference}")
    why = page.locator("#why")
    assert "restriction of movement" in why.inner_text() and "danger-now" in why.inner_text()
    assert page.locator(".message mark").all_inner_texts() == ["passport", "LOCKED ME"]
    assert "<script>alert(1)</script>" in page.locator(".message .body").first.inner_text()  # shown, as text
    screenshots(page, "triage-why", "#why", ".message", "#history", "#triage")

    page.goto(f"{live_server}/console/cases/{unclear.reference}")
    assert "needs human triage" in page.locator("h1").inner_text()
    screenshots(page, "triage-needs-person", "h1", "#why")
    page.click("button:has-text('Triage is right')")
    page.wait_for_url("**#why")
    assert "Triage confirmed as right." in page.content()
    assert "needs human triage" not in page.locator("h1").inner_text()
    assert f"confirmed as right by {user.display_name}" in page.locator("#why").inner_text()
    assert errors == []


@pytest.mark.browser
def test_admin_reads_triage_accuracy(page: Any, live_server: str, session: Session) -> None:
    admin = staff_with_password(session, Role.ADMIN, "admin@tulay.test", display_name="Ana Admin")
    for _ in range(6):
        triaged_case(session, "They took my passport")
    for _ in range(5):
        triaged_case(session, "They took my passport", corrected_by=admin.id, category="recruitment_fees")
    triaged_case(session, "They took my passport", corrected_by=admin.id, category="housing", urgency="critical")
    for _ in range(2):
        triaged_case(session, "Kinuha ng amo ang pasaporte ko", language="tl", translation="My boss took my passport")
    session.commit()
    errors = watch_console(page)
    sign_in_in_browser(page, live_server, "admin@tulay.test")
    page.click("text=Triage accuracy")
    page.wait_for_url("**/console/triage-accuracy")
    assert page.locator("table.confusion").count() == 4  # overall and English, category and urgency
    assert "fewer than 5 cases" in page.locator("section").nth(2).inner_text()
    screenshots(page, "triage-accuracy", "main")
    assert errors == []
    page.fill("input[name=period]", "2026-13..2026-14")
    page.click("button:has-text('Show')")
    assert "period bounds must be YYYY-MM" in page.locator(".flash-error").inner_text()
    # A refused period is a 400 on purpose (Chromium reports it); nothing else may go wrong.
    assert errors == ["Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"]


@pytest.mark.browser
def test_a_mediator_records_an_agreement_and_reads_their_agenda(page: Any, live_server: str, session: Session) -> None:
    mediator = staff_with_password(session, Role.MEDIATOR, "mediator@tulay.test", display_name="Mia Mediator")
    case = make_case(session, language="tl", status=CaseStatus.ASSIGNED, assignee_id=mediator.id)
    add_message(session, case, "Hindi binayaran ang sahod ko", translation="My wages were not paid")
    schedule_mediation(session, case, mediator.id, utcnow() - timedelta(hours=2), "worker; employer HR", mediator.id)
    session.commit()
    errors = watch_console(page)
    sign_in_in_browser(page, live_server, "mediator@tulay.test")
    page.click("text=Mediation agenda")
    page.wait_for_url("**/console/mediation")
    assert case.reference in page.locator("main").inner_text()
    screenshots(page, "mediation-agenda", "main")

    page.click(f"text={case.reference}")
    page.click("#mediation summary:has-text('Record the result')")  # the forms are folded
    form, due = fill_in_an_agreement(page, "1,500", "PHP")
    form.locator("input[name=follow_up_on]").fill(due)
    screenshots(page, "mediation-result-form", "#mediation")
    form.locator("button:has-text('Record result')").click()
    page.wait_for_url("**#mediation")
    assert "1,500.00 PHP" in page.locator("table.terms").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshots(page, "mediation-agreement", "#mediation")
    page.goto(f"{live_server}/console/mediation")
    assert due in page.locator("main").inner_text()
    assert errors == []
