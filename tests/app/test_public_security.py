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
from tests.app.public_support import REPORT, count, submit_report
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


def test_posts_are_rate_limited_per_client(make_app: Any, session: Session, redis: Any) -> None:
    client = make_app(PUBLIC_RATE_LIMIT="2 per minute").test_client()
    first_address = {"REMOTE_ADDR": "203.0.113.7"}
    for _ in range(2):
        assert client.post("/report?lang=ar", data={}, environ_base=first_address).status_code == 400
    limited = client.post("/report?lang=ar", data=REPORT, environ_base=first_address)
    assert limited.status_code == 429
    assert "محاولات كثيرة جدًا" in limited.get_data(as_text=True)
    assert int(limited.headers["Retry-After"]) > 0
    assert count(session, Case) == 0
    assert client.get("/report", environ_base=first_address).status_code == 200  # reading is never limited
    other = client.post("/report?lang=ar", data=REPORT, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200  # another client is not punished
    for _ in range(2):
        assert client.post("/status", data={}, environ_base=first_address).status_code == 400
    assert client.post("/status", data={}, environ_base=first_address).status_code == 429
    assert not any(b"203.0.113.7" in key for key in redis.keys("*"))  # addresses are stored only hashed


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
