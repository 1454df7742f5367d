"""Real browser (Debian's Chromium via Playwright): report in Spanish and Arabic, then follow up.

The browser runs with JavaScript off on a 320 px wide screen, and CSRF protection on, as a
reporter's basic phone would meet the site. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import ARTIFACTS, serve_over_http

SMALL_PHONE = {"width": 320, "height": 640}


@pytest.fixture
def csrf_app(make_app: Any) -> Flask:
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def server(csrf_app: Flask) -> Iterator[str]:
    """The CSRF-protected app over real HTTP on 127.0.0.1 (ephemeral port)."""
    with serve_over_http(csrf_app) as url:
        yield url


@pytest.fixture
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A small-screen page with JavaScript off; call it with a step name to save a screenshot."""
    context = browser.new_context(viewport=SMALL_PHONE, java_script_enabled=False)
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)

    def shoot(step: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    page.shoot = shoot
    yield page
    context.close()


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two computed `rgb(r, g, b)` colours."""

    def luminance(css: str) -> float:
        channels = [int(v) / 255 for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def assert_fits_small_screen(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]


def report_and_follow_up(page: Any, base: str, lang: str, texts: dict[str, str]) -> None:
    page.goto(f"{base}/report?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("html").get_attribute("dir") == texts["dir"]
    assert_fits_small_screen(page)
    page.fill("#body", texts["body"])
    page.select_option("#country", "AE")
    page.select_option("#sector", "domestic_work")
    page.fill("#employer", "<b>Villa 12</b>")
    page.shoot("1-form")
    page.click("form[method=post] button[type=submit]")
    assert texts["received"] in page.locator("h1").inner_text()
    reference = page.locator("#reference").inner_text().strip()
    pin = page.locator("#pin").inner_text().strip()
    assert len(pin) == 6 and len(reference) == 9
    assert_fits_small_screen(page)
    page.shoot("2-reference-and-pin")

    page.goto(f"{base}/status?lang={lang}")
    page.fill("#reference", reference)
    page.fill("#pin", pin)
    page.click("form[method=post] button[type=submit]")
    assert reference in page.locator("h1").inner_text()
    assert texts["state"] in page.locator(".state").inner_text()
    page.fill("#body", texts["followup"])
    page.click("form[method=post] button[type=submit]")
    assert texts["added"] in page.locator("[role=status]").inner_text()
    assert page.locator("html").get_attribute("dir") == texts["dir"]
    page.shoot("3-message-added")


@pytest.mark.browser
def test_report_and_follow_up_in_spanish(phone: Any, server: str) -> None:
    report_and_follow_up(
        phone,
        server,
        "es",
        {
            "dir": "ltr",
            "body": "Mi empleador no me paga desde marzo.",
            "received": "Recibimos su denuncia",
            "state": "recibido",
            "followup": "Hoy me quitó el teléfono.",
            "added": "Su mensaje se añadió a su caso.",
        },
    )


@pytest.mark.browser
def test_report_and_follow_up_in_arabic_right_to_left(phone: Any, server: str) -> None:
    report_and_follow_up(
        phone,
        server,
        "ar",
        {
            "dir": "rtl",
            "body": "صاحب العمل أخذ جواز سفري.",
            "received": "وصلنا بلاغك",
            "state": "مستلمة",
            "followup": "لم أحصل على راتبي هذا الشهر.",
            "added": "أُضيفت رسالتك إلى حالتك.",
        },
    )
    # Right to left for real: the heading starts at the right edge of the screen.
    box = phone.locator("h1").bounding_box()
    assert box["x"] + box["width"] > SMALL_PHONE["width"] - 20


@pytest.mark.browser
def test_form_errors_keyboard_and_contrast(phone: Any, server: str) -> None:
    phone.goto(f"{server}/report?lang=sw")
    # Keyboard only: the skip link comes first (before the language links), then tab to the
    # description, type, and submit with Enter on the button.
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.className") == "skip"
    phone.keyboard.press("Enter")
    for _ in range(20):
        phone.keyboard.press("Tab")
        if phone.evaluate("document.activeElement.id") == "body":
            break
    assert phone.evaluate("document.activeElement.id") == "body"
    phone.keyboard.type("<script>alert(1)</script>")
    phone.focus("form[method=post] button[type=submit]")
    phone.keyboard.press("Enter")
    phone.wait_for_load_state()
    assert "Tafadhali chagua nchi kutoka kwenye orodha." in phone.locator(".summary").inner_text()
    assert phone.locator("#body").input_value() == "<script>alert(1)</script>"
    assert phone.locator("script").count() == 0
    assert phone.locator("#country").get_attribute("aria-invalid") == "true"
    phone.shoot("errors")
    for selector in ("body", ".hint", ".error", "label", "button[type=submit]", "a"):
        colours = phone.evaluate(
            "s => { const e = document.querySelector(s); const c = getComputedStyle(e);"
            " let b = e; let bg = getComputedStyle(b).backgroundColor;"
            " while (bg === 'rgba(0, 0, 0, 0)' && b.parentElement) { b = b.parentElement;"
            " bg = getComputedStyle(b).backgroundColor; } return [c.color, bg]; }",
            selector,
        )
        assert contrast(*colours) >= 4.5, (selector, colours)


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [SMALL_PHONE, {"width": 1280, "height": 900}], ids=["phone", "desktop"])
def test_a_reporter_proves_their_number_on_the_status_page(
    browser: Any, server: str, csrf_app: Flask, viewport: dict[str, int], request: pytest.FixtureRequest
) -> None:
    from sqlmodel import select

    from app.db import session_scope
    from casework.cases import hash_pin
    from casework.models import ContactVerification

    context = browser.new_context(viewport=viewport, java_script_enabled=False)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{server}/report?lang=en")
    page.fill("#body", "My employer keeps my passport.")
    page.select_option("#country", "AE")
    page.fill("#phone", "+971 50 123 4567")
    page.check("#consent")
    page.click("form[method=post] button[type=submit]")
    assert "We sent a code by SMS" in page.content()
    reference = page.locator("#reference").inner_text().strip()
    pin = page.locator("#pin").inner_text().strip()
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-1-receipt.png"), full_page=True)
    with csrf_app.app_context(), session_scope() as session:
        session.exec(select(ContactVerification)).one().code_hash = hash_pin("482913")  # the code the SMS carried
    page.goto(f"{server}/status?lang=en")
    page.fill("#reference", reference)
    page.fill("#pin", pin)
    page.click("form[method=post] button[type=submit]")
    assert page.locator("h2", has_text="Confirm your phone number").count() == 1
    if viewport is SMALL_PHONE:
        assert_fits_small_screen(page)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-2-code-form.png"), full_page=True)
    page.fill("#code", "482 913")
    page.click("input[value=verify] ~ button[type=submit]")
    assert "Your number is confirmed" in page.locator("[role=status]").inner_text()
    assert page.locator("#code").count() == 0
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-3-confirmed.png"), full_page=True)
    context.close()
    assert not problems, problems
