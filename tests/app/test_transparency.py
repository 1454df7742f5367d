"""The public dashboard: no login, the visitor's language, SVG charts, no cell under k."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import flask_babel
import pytest
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.closed_cases import close_case


@pytest.fixture
def published(session: Session, run_jobs: Any) -> None:
    for _ in range(7):
        close_case(session, closed_at=datetime(2025, 3, 10, tzinfo=UTC))
    for _ in range(2):
        close_case(session, closed_at=datetime(2025, 4, 10, tzinfo=UTC), country="LB", sector="fishing",
                   category="forced_labour")
    session.rollback()
    run_jobs(("reports",))


def test_dashboard_is_public_with_svg_charts_and_no_script(client: FlaskClient, published: None) -> None:
    response = client.get("/transparency")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count("<svg") >= 5 and 'role="img"' in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "Wage theft" in page and 'name="viewport"' in page
    # The two forced-labour cases in Lebanon are nowhere on the page.
    assert "Forced labour" not in page and ">LB<" not in page


def test_dashboard_speaks_the_visitors_language(client: FlaskClient, published: None) -> None:
    page = client.get("/transparency?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    flask_babel.refresh()  # the test's app context outlives the request; a real request starts fresh
    page = client.get("/transparency", headers={"Accept-Language": "es-ES,es;q=0.9"}).get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in page


def test_period_filter(client: FlaskClient, published: None) -> None:
    page = client.get("/transparency?start=2025-04&end=2025-04").get_data(as_text=True)
    assert re.search(r'class="key">0<', page)
    page = client.get("/transparency?period=2025-03..2025-03").get_data(as_text=True)
    assert re.search(r'class="key">7<', page)


@pytest.mark.parametrize(("label", "query"), [
    ("inverted period", "start=2025-06&end=2025-01"),
    ("not a month", "start=March"),
    ("unknown filter", "employer=Acme"),
])
def test_bad_filters_give_a_400_page(client: FlaskClient, label: str, query: str) -> None:
    response = client.get(f"/transparency?{query}")
    assert response.status_code == 400, label
    assert 'role="alert"' in response.get_data(as_text=True)


@pytest.mark.browser
def test_dashboard_fits_a_320_px_screen(browser: Any, live_server: str, published: None) -> None:
    """Debian's Chromium at 320 px: nothing scrolls sideways, every chart is labelled."""
    context = browser.new_context(viewport={"width": 320, "height": 640}, java_script_enabled=False)
    page = context.new_page()
    # Requests to anything but our server fail the test: the page must be self-contained.
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(f"{live_server}/") else outside.append(r.url))
    page.goto(f"{live_server}/transparency?lang=ar")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.locator("svg[role=img] title").count() >= 5
    assert outside == []
    context.close()
