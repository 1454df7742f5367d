"""Real browser (Debian's Chromium via Playwright): the landing page on a 360 px phone, JavaScript off.

Fails on any console error (a CSP violation is one). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.conftest import ARTIFACTS, serve_over_http

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def server(make_app: Any) -> Iterator[str]:
    application: Flask = make_app(
        WTF_CSRF_ENABLED=True, TWILIO_SMS_FROM="+15551234567", TWILIO_WHATSAPP_FROM="whatsapp:+447700900123"
    )
    with serve_over_http(application) as url:
        yield url


@pytest.mark.browser
@pytest.mark.parametrize(("lang", "direction"), [("en", "ltr"), ("ar", "rtl"), ("my", "ltr"), ("am", "ltr")])
def test_landing_fits_a_small_phone(browser: Any, server: str, lang: str, direction: str) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale=lang)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{server}/", wait_until="load")  # the language comes from Accept-Language (the locale)
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("html").get_attribute("dir") == direction
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Styled: the stylesheet loaded (the page would be 8 px from the edge in the browser's default).
    assert page.evaluate("getComputedStyle(document.body).marginTop") == "0px"
    # The phone number reads left to right whatever the page's direction.
    sms = page.locator("#sms bdi")
    assert sms.inner_text() == "+1 555-123-4567"
    assert sms.evaluate("e => getComputedStyle(e).direction") == "ltr"
    if direction == "rtl":
        box = page.locator("h1").bounding_box()
        assert box["x"] + box["width"] > PHONE["width"] - 20  # the heading starts at the right edge
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"landing-{lang}.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / f"landing-{lang}-first-screen.png"))  # what the phone shows first
    # The picker at the top switches language with one tap, no JavaScript.
    page.click('nav.lang a[hreflang="sw"]')
    assert page.locator("html").get_attribute("lang") == "sw"
    context.close()
    assert not problems, problems
