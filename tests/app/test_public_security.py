"""Security around the public pages: CSRF, per-client rate limits, localized error pages.

Security headers and cookie flags of every route are in tests/reliability/test_security_surface.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session

from app.config import ConfigError, load_settings
from casework.models import Case, Message, Reporter
from tests.app.public_support import REPORT, count, submit_report, view_token
from tests.conftest import TEST_KEY


@pytest.fixture
def csrf_client(make_app: Any) -> FlaskClient:
    return make_app(WTF_CSRF_ENABLED=True).test_client()


def csrf_token(client: FlaskClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found
    return found.group(1)


@pytest.mark.parametrize("path", ["/report?lang=es", "/status?lang=es"])
def test_posts_without_a_csrf_token_are_refused_in_the_reporters_language(
    csrf_client: FlaskClient, session: Session, path: str
) -> None:
    response = csrf_client.post(path, data={**REPORT, "reference": "ABCD-1234", "pin": "123456"})
    assert response.status_code == 400
    assert "Este formulario ha caducado." in response.get_data(as_text=True)
    for model in (Reporter, Case, Message):
        assert count(session, model) == 0


def test_the_whole_flow_works_with_csrf_on(csrf_client: FlaskClient, session: Session) -> None:
    token = csrf_token(csrf_client, "/report?lang=es")
    reference, pin, _ = submit_report(csrf_client, csrf_token=token)
    status_token = csrf_token(csrf_client, "/status?lang=es")
    page = csrf_client.post("/status?lang=es", data={"reference": reference, "pin": pin, "csrf_token": status_token})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    view = re.search(r'name="token" value="([^"]+)"', html)
    form_csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert view and form_csrf
    added = csrf_client.post(
        "/status?lang=es", data={"token": view.group(1), "body": "más detalles", "csrf_token": form_csrf.group(1)}
    )
    assert added.status_code == 200
    assert count(session, Message) == 2


TOO_MANY_AR = "محاولات كثيرة جدًا من هذا الاتصال."
KEPT_AR = "لم يُرسل شيء بعد. ما كتبته محفوظ أدناه."


def test_only_stored_reports_count_against_the_limit(make_app: Any, session: Session, redis: Any) -> None:
    """Refused posts (400) cost nothing: ten empty posts must not block the next genuine report."""
    client = make_app(PUBLIC_RATE_LIMIT="2 per minute").test_client()
    address = {"REMOTE_ADDR": "203.0.113.7"}
    for _ in range(10):
        assert client.post("/report?lang=ar", data={}, environ_base=address).status_code == 400
    for _ in range(2):
        assert client.post("/report?lang=ar", data=REPORT, environ_base=address).status_code == 200
    assert count(session, Case) == 2
    other = client.post("/report?lang=ar", data=REPORT, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200  # another client is not punished
    assert client.get("/report", environ_base=address).status_code == 200  # reading is never limited
    assert not any(b"203.0.113.7" in key for key in redis.keys("*"))  # addresses are stored only hashed


def test_a_refused_report_shows_the_form_again_with_what_was_typed(make_app: Any, session: Session) -> None:
    client = make_app(PUBLIC_RATE_LIMIT="1 per minute").test_client()
    assert client.post("/report?lang=ar", data=REPORT).status_code == 200
    typed = {**REPORT, "name": "Amina <b>", "phone": "+971501234567", "contact_channel": "whatsapp", "consent": "yes"}
    limited = client.post("/report?lang=ar", data=typed)
    assert limited.status_code == 429
    page = limited.get_data(as_text=True)
    assert TOO_MANY_AR in page and KEPT_AR in page  # the reporter's language, and nothing lost
    assert 'dir="rtl"' in page
    assert f">{REPORT['body']}</textarea>" in page
    for shown in (
        'value="Amina &lt;b&gt;"',
        'value="+971501234567"',
        'value="AE" selected',
        'value="whatsapp" checked',
    ):
        assert shown in page, shown
    assert 'action="/report?lang=ar"' in page  # the same form, ready to send again
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.headers["Cache-Control"] == "no-store"  # it repeats a name and a number
    assert count(session, Case) == 1


def test_status_counts_wrong_pins_but_not_a_reporter_opening_their_case(make_app: Any, session: Session) -> None:
    client = make_app(PUBLIC_RATE_LIMIT="2 per minute").test_client()
    reference, pin, _ = submit_report(client)
    address = {"REMOTE_ADDR": "203.0.113.7"}

    def open_case(with_pin: str) -> Any:
        return client.post("/status?lang=ar", data={"reference": reference, "pin": with_pin}, environ_base=address)

    for _ in range(4):
        assert open_case(pin).status_code == 200
    assert client.post("/status?lang=ar", data={"token": "forged"}, environ_base=address).status_code == 400
    for _ in range(2):
        assert open_case("000000").status_code == 400
    limited = open_case(pin)
    assert limited.status_code == 429
    page = limited.get_data(as_text=True)
    assert TOO_MANY_AR in page and f'value="{reference}"' in page
    assert 'name="pin"' in page and pin not in page  # the PIN is typed again, never echoed
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.headers["Cache-Control"] == "no-store"


def test_status_counts_added_messages_and_keeps_a_refused_one(make_app: Any, session: Session) -> None:
    client = make_app(PUBLIC_RATE_LIMIT="1 per minute").test_client()
    reference, pin, _ = submit_report(client)
    page = client.post("/status?lang=ar", data={"reference": reference, "pin": pin}).get_data(as_text=True)
    token = view_token(page)
    assert client.post("/status?lang=ar", data={"token": token, "body": ""}).status_code == 400  # not counted
    added = client.post("/status?lang=ar", data={"token": token, "body": "more details"})
    assert added.status_code == 200
    assert count(session, Message) == 2
    # The page shown after adding carries a fresh token (each token adds one message).
    limited = client.post(
        "/status?lang=ar", data={"token": view_token(added.get_data(as_text=True)), "body": "and one more thing"}
    )
    assert limited.status_code == 429
    html = limited.get_data(as_text=True)
    assert TOO_MANY_AR in html and KEPT_AR in html
    assert ">and one more thing</textarea>" in html and view_token(html)  # the same form, ready to send again
    assert count(session, Message) == 2


def test_behind_a_trusted_proxy_each_reporter_has_their_own_limit(make_app: Any, session: Session) -> None:
    client = make_app(PUBLIC_RATE_LIMIT="1 per minute", TRUSTED_PROXY_HOPS=1).test_client()
    router = {"REMOTE_ADDR": "10.0.0.2"}  # every request arrives from the platform's router

    def report(forwarded_for: str) -> int:
        headers = {"X-Forwarded-For": forwarded_for}
        return client.post("/report?lang=es", data=REPORT, environ_base=router, headers=headers).status_code

    assert report("203.0.113.7") == 200
    assert report("198.51.100.9") == 200  # another reporter behind the same router
    assert report("203.0.113.7") == 429
    assert report("192.0.2.1, 203.0.113.7") == 429  # a value the client added in front is not trusted
    assert count(session, Case) == 2


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(make_app: Any) -> None:
    client = make_app(PUBLIC_RATE_LIMIT="1 per minute").test_client()
    address = {"REMOTE_ADDR": "203.0.113.7"}
    for forwarded_for, status in (("198.51.100.1", 200), ("198.51.100.2", 429)):
        headers = {"X-Forwarded-For": forwarded_for}
        assert client.post("/report", data=REPORT, environ_base=address, headers=headers).status_code == status


@pytest.mark.parametrize(
    ("label", "url", "code", "text"),
    [
        ("404 in Arabic", "/nowhere?lang=ar", 404, "الصفحة غير موجودة"),
        ("404 in Bengali", "/nowhere?lang=bn", 404, "পাতা পাওয়া যায়নি"),
        ("405 in Vietnamese", "/static/public.css?lang=vi", 405, "Có gì đó chưa đúng"),
    ],
)
def test_error_pages_speak_the_reporters_language(
    client: FlaskClient, label: str, url: str, code: int, text: str
) -> None:
    response = client.open(url, method="DELETE" if code == 405 else "GET")
    assert response.status_code == code, label
    assert text in response.get_data(as_text=True), label


def test_machines_still_get_json_errors(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404 and response.is_json


@pytest.mark.parametrize("value", ["", "lots", "10 per fortnight"])
def test_a_bad_rate_limit_setting_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="PUBLIC_RATE_LIMIT"):
        load_settings(
            environ={},
            overrides={
                "TULAY_ENV": "test",
                "SECRET_KEY": "k" * 20,
                "DATA_ENCRYPTION_KEY": TEST_KEY,
                "PUBLIC_RATE_LIMIT": value,
            },
            dotenv_path="/nonexistent",
        )
