"""The landing page (/): in the reader's language, the ways to report, and the emergency numbers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.public.landing import EmergencyNumbersError, emergency_numbers, public_number
from casework.texts import SUPPORTED_LANGUAGES

SMS_FROM = "+15551234567"
WHATSAPP_FROM = "whatsapp:+447700900123"
STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


@pytest.fixture
def numbered(make_app: Any) -> FlaskClient:
    """The app with the hotline's Twilio numbers set, as a deployment has them."""
    application: Flask = make_app(TWILIO_SMS_FROM=SMS_FROM, TWILIO_WHATSAPP_FROM=WHATSAPP_FROM)
    return application.test_client()


def page(client: FlaskClient, url: str = "/", **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_landing_is_in_english_by_default(numbered: FlaskClient) -> None:
    html = page(numbered)
    assert '<html lang="en" dir="ltr">' in html
    assert "<h1>Help for migrant workers</h1>" in html
    assert 'href="/report?lang=en"' in html and 'href="/status?lang=en"' in html
    assert 'href="/transparency?lang=en"' in html


@pytest.mark.parametrize(
    ("accept", "lang", "direction", "heading"),
    [
        ("ar,en;q=0.5", "ar", "rtl", "مساعدة للعمال المهاجرين"),
        ("my-MM,my;q=0.9", "my", "ltr", "ရွှေ့ပြောင်းအလုပ်သမားများအတွက် အကူအညီ"),
    ],
)
def test_landing_follows_accept_language(
    numbered: FlaskClient, accept: str, lang: str, direction: str, heading: str
) -> None:
    html = page(numbered, **{"Accept-Language": accept})
    assert f'<html lang="{lang}" dir="{direction}">' in html
    assert f"<h1>{heading}</h1>" in html


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/", {"Accept-Language": "';DROP TABLE;--,,q=x,*;q=abc"}),
        ("/", {"Accept-Language": "xx-YY,zz"}),
        ("/?lang=klingon", {}),
        ("/?lang=../../etc", {"Accept-Language": "nonsense"}),
    ],
)
def test_bad_language_input_falls_back_to_english(numbered: FlaskClient, url: str, headers: dict[str, str]) -> None:
    html = page(numbered, url, **headers)
    assert '<html lang="en" dir="ltr">' in html


def test_the_language_picker_is_at_the_top_and_switches(numbered: FlaskClient) -> None:
    html = page(numbered)
    picker = html.index('<nav class="lang"')
    assert picker < html.index("<header>") < html.index("<main")
    # Each language named in its own script, with lang and hreflang, linking to this page.
    assert '<a href="/?lang=ar" lang="ar" hreflang="ar">العربية</a>' in html
    assert '<a href="/?lang=my" lang="my" hreflang="my">မြန်မာ</a>' in html
    assert '<a href="/?lang=en" lang="en" hreflang="en" aria-current="true">English</a>' in html
    assert len(re.findall(r'hreflang="', html)) == 18
    switched = page(numbered, "/?lang=ur", **{"Accept-Language": "en"})
    assert '<html lang="ur" dir="rtl">' in switched
    assert 'aria-current="true">اردو</a>' in switched


@pytest.mark.parametrize("url", ["/report", "/status"])
def test_every_public_page_has_the_picker_at_the_top(numbered: FlaskClient, url: str) -> None:
    html = page(numbered, url + "?lang=am")
    assert html.index('<nav class="lang"') < html.index("<header>")
    assert f'<a href="{url}?lang=sw" lang="sw" hreflang="sw">' in html


def test_sms_and_whatsapp_numbers_come_from_config_bidi_isolated(numbered: FlaskClient) -> None:
    html = page(numbered, "/?lang=ar")
    assert '<a href="sms:+15551234567"><bdi dir="ltr">+1 555-123-4567</bdi></a>' in html
    assert '<a href="https://wa.me/447700900123"><bdi dir="ltr">+44 7700 900123</bdi></a>' in html


def test_without_numbers_only_the_web_form_is_offered(client: FlaskClient) -> None:
    html = page(client)
    assert "sms:" not in html and "wa.me" not in html
    assert 'href="/report?lang=en">Report a problem at work</a>' in html


def test_a_messaging_service_sid_shows_no_sms_number() -> None:
    assert public_number("MG0123456789abcdef0123456789abcdef") is None
    assert public_number("") is None
    assert public_number("+1 555") is None
    number = public_number("whatsapp:+6591234567")
    assert number is not None and number.dial == "+6591234567"


def test_emergency_numbers_come_from_the_data_file(numbered: FlaskClient) -> None:
    numbers = emergency_numbers()
    destinations = {"SA", "AE", "QA", "KW", "OM", "BH", "JO", "LB", "MY", "SG", "HK", "TW", "KR", "JP", "US"}
    assert destinations | {"ES", "IT", "DE", "GB"} <= set(numbers)
    html = page(numbered)
    assert "<dt>Saudi Arabia</dt>" in html
    assert 'Police: <a href="tel:999"><bdi dir="ltr">999</bdi></a>' in html
    assert 'Ambulance: <a href="tel:997"><bdi dir="ltr">997</bdi></a>' in html
    assert 'Help line for workers: <a href="tel:08000121700"><bdi dir="ltr">08000 121 700</bdi></a>' in html
    # Country names in the page's language.
    assert "<dt>المملكة العربية السعودية</dt>" in page(numbered, "/?lang=ar")


def test_a_malformed_emergency_numbers_file_is_refused(tmp_path: Path) -> None:
    for text in (
        "countries: []",
        "countries: {Saudi: {police: '999'}}",
        "countries: {SA: {fire: '998'}}",
        "countries: {SA: {police: 'call me'}}",
    ):
        path = tmp_path / "numbers.yaml"
        path.write_text(text)
        with pytest.raises(EmergencyNumbersError):
            emergency_numbers(path)


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_page_weight_with_its_stylesheet_is_under_30_kb_and_has_no_script(numbered: FlaskClient, lang: str) -> None:
    html = page(numbered, f"/?lang={lang}")
    assert "<script" not in html.lower() and " style=" not in html and "<style" not in html
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert stylesheets == ["/static/public.css"]
    with numbered.get(stylesheets[0]) as css:
        assert css.status_code == 200
        total = len(html.encode()) + len(css.get_data())
    assert total <= 30 * 1024, total


def test_an_error_page_offers_the_landing_page_and_never_echoes_the_path(numbered: FlaskClient) -> None:
    response = numbered.get("/no-such-page/ABC-123?lang=ar")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert '<a href="/?lang=ur" lang="ur" hreflang="ur">' in html
    assert "ABC-123" not in html
    assert 'class="button" href="/?lang=ar"' in html
