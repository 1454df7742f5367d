"""The public dashboard: no login, the visitor's language, SVG charts, no cell under k."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import flask_babel
import pytest
from flask.testing import FlaskClient
from sqlmodel import Session

from app import jobs
from app.queues import get_queues
from app.transparency import amount_label, amount_order
from tests.closed_cases import close_case


@pytest.fixture
def published(session: Session, run_jobs: Any) -> None:
    for _ in range(7):
        close_case(session, closed_at=datetime(2025, 3, 10, tzinfo=UTC))
    for _ in range(2):
        close_case(
            session,
            closed_at=datetime(2025, 4, 10, tzinfo=UTC),
            country="LB",
            sector="fishing",
            category="forced_labour",
        )
    session.rollback()
    run_jobs(("reports",))
    jobs.refresh_compliance_release()  # what the worker does every COMPLIANCE_CACHE_SECONDS


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


def test_spanish_dashboard_names_codes_in_spanish(client: FlaskClient, published: None) -> None:
    page = client.get("/transparency?lang=es").get_data(as_text=True)
    cells = re.findall(r"<td>([^<]*)</td>", page)
    assert "Malasia" in cells and "MY" not in cells  # country name from Babel's locale data
    assert "Construcción" in cells and "construction" not in cells  # the report form's sector label
    assert "De 100 a 999 MYR" in cells and not any("100_999" in cell for cell in cells)
    headings = re.findall(r'<th scope="col">([^<]*)</th>', page)
    assert "Tipo de problema" in headings and "Concepto" in headings and "Valor" not in headings
    # The language menu names each language in itself, not by its code.
    links = dict(re.findall(r'hreflang="([a-z]+)">([^<]*)</a>', page))
    assert links["es"] == "Español" and links["zh"] == "中文" and links["vi"] == "Tiếng Việt"


def test_english_dashboard_labels_codes_too(client: FlaskClient, published: None) -> None:
    page = client.get("/transparency?lang=en").get_data(as_text=True)
    cells = re.findall(r"<td>([^<]*)</td>", page)
    assert {"Malaysia", "Construction", "100\u2013999 MYR"} <= set(cells)
    assert '<th scope="col">Item</th>' in page and ">Value<" not in page


@pytest.mark.parametrize(
    ("language", "key", "expected"),
    [
        ("en", "MYR under_100", "Under 100 MYR"),
        ("en", "MYR 100_999", "100\u2013999 MYR"),
        ("en", "LBP 100000_plus", "100,000 LBP or more"),
        ("es", "MYR under_100", "Menos de 100 MYR"),
        ("es", "MYR 10000_99999", "De 10.000 a 99.999 MYR"),
        ("es", "LBP 100000_plus", "100.000 LBP o más"),
        ("fr", "EUR 100000_plus", "100\u202f000 EUR ou plus"),
        ("ar", "MYR 1000_9999", "من 1,000 إلى 9,999 MYR"),
        ("hi", "INR 100000_plus", "1,00,000 INR या उससे ज़्यादा"),
        ("en", "MYR someday_band", "MYR someday_band"),
    ],
)
def test_amount_bands_read_as_numbers_in_the_page_language(app: Any, language: str, key: str, expected: str) -> None:
    with app.test_request_context(f"/transparency?lang={language}"):
        assert amount_label(key) == expected


def test_amount_bands_run_from_smallest_by_currency() -> None:
    keys = ["MYR 100000_plus", "LBP under_100", "MYR under_100", "MYR 1000_9999"]
    assert amount_order(keys) == ["LBP under_100", "MYR under_100", "MYR 1000_9999", "MYR 100000_plus"]


@pytest.mark.parametrize(
    ("label", "query", "english", "spanish"),
    [
        (
            "inverted period",
            "start=2025-06&end=2025-01",
            "period starts after it ends",
            "El período empieza después de terminar",
        ),
        (
            "not a month",
            "start=March",
            "period bounds must be YYYY-MM, got &#39;March&#39;",
            "Los meses del período deben tener el formato YYYY-MM; se recibió &#39;March&#39;",
        ),
        (
            "absurd year",
            "period=1900-01..2025-01",
            "period bound &#39;1900-01&#39; is out of range (2000-2100)",
            "El mes &#39;1900-01&#39; del período está fuera del intervalo permitido (2000-2100)",
        ),
        (
            "open range",
            "period=2025-01..",
            "period must be YYYY-MM..YYYY-MM",
            "El período debe tener el formato YYYY-MM..YYYY-MM",
        ),
        (
            "unknown filter",
            "employer=Acme",
            "unknown filter(s): employer; use period, category, country, sector, channel",
            "Filtro(s) desconocido(s): employer; use period, category, country, sector, channel",
        ),
        (
            "not a code",
            "sector=x%20y",
            "sector must be a code of letters, digits or _",
            "sector debe ser un código de letras, cifras o _",
        ),
    ],
)
def test_bad_filters_give_a_400_page_in_the_visitors_language(
    client: FlaskClient, label: str, query: str, english: str, spanish: str
) -> None:
    response = client.get(f"/transparency?{query}&lang=en")
    assert response.status_code == 400, label
    assert f'role="alert">{english}<' in response.get_data(as_text=True), label
    flask_babel.refresh()
    response = client.get(f"/transparency?{query}&lang=es")
    assert response.status_code == 400, label
    assert f'role="alert">{spanish}<' in response.get_data(as_text=True), label


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


def test_sanctions_generalised_away_read_not_published_never_zero(
    client: FlaskClient, session: Session, run_jobs: Any
) -> None:
    for _ in range(7):
        close_case(session, closed_at=datetime(2025, 3, 10, tzinfo=UTC))
    for country in ("MY", "QA", "LB", "SA", "AE"):  # sanctioned, each alone in its country
        close_case(
            session, closed_at=datetime(2025, 4, 10, tzinfo=UTC), country=country, inspection=True, sanction=True
        )
    session.rollback()
    run_jobs(("reports",))
    jobs.refresh_compliance_release()  # what the worker does every COMPLIANCE_CACHE_SECONDS
    page = client.get("/transparency?lang=en").get_data(as_text=True)
    section = page.split("<h2>Sanction reported</h2>")[1].split("</section>")[0]
    cells = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", section)
    assert cells == [("Yes", "Not published (too few cases)"), ("No", "7"), ("Not published (too few cases)", "5")]
    assert ">0<" not in section


def test_before_a_release_is_published_the_dashboard_says_so_in_the_visitors_language(
    client: FlaskClient, session: Session, run_jobs: Any
) -> None:
    for _ in range(5):
        close_case(session, closed_at=datetime(2025, 3, 10, tzinfo=UTC))
    session.rollback()
    run_jobs(("reports",))  # records written, no release computed yet
    response = client.get("/transparency?lang=es")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    page = response.get_data(as_text=True)
    assert "Las cifras se están preparando." in page and 'lang="es"' in page
    assert "<script" not in page
    assert get_queues()["reports"].job_ids == ["compliance-release"]  # the refresh the request asked for
    run_jobs(("reports",))
    assert client.get("/transparency?lang=es").status_code == 200
