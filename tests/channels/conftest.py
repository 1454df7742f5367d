"""Fixtures for the Twilio channel: the fake REST server, Twilio settings, signed webhook posts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from tests.fakes import FakeTwilio, fake_twilio_server

PAYLOADS = Path(__file__).parent / "payloads"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token-for-signatures"
PUBLIC_BASE_URL = "https://tulay.test"


def load_payload(name: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def sign(path: str, form: Any, token: str = AUTH_TOKEN, query: str = "") -> str:
    """Twilio's signature for a POST of `form` to `path`, computed by the twilio library itself."""
    url = PUBLIC_BASE_URL + path + (f"?{query}" if query else "")
    return str(RequestValidator(token).compute_signature(url, form))


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with fake_twilio_server() as fake:
        yield fake


def twilio_config(api_base_url: str) -> dict[str, str]:
    """Settings for a Twilio account whose REST API is at `api_base_url` (a fake) and whose webhooks we sign."""
    return {
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_SMS_FROM": "+15005550006",
        "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886",
        "TWILIO_API_BASE_URL": api_base_url,
    }


@pytest.fixture
def config(config: dict[str, Any], fake_twilio: FakeTwilio) -> dict[str, Any]:
    return {**config, **twilio_config(fake_twilio.base_url)}


def signed_post(
    client: FlaskClient,
    path: str,
    form: dict[str, str],
    *,
    query: str = "",
    signature: str | None = None,
    **kwargs: Any,
) -> TestResponse:
    """POST a Twilio form to `path`, signed as Twilio would sign it (or with `signature` given)."""
    headers = {"X-Twilio-Signature": sign(path, form, query=query) if signature is None else signature}
    return client.post(
        path + (f"?{query}" if query else ""),
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
        **kwargs,
    )


@pytest.fixture
def post_signed(client: FlaskClient) -> Any:
    """`signed_post` with the test's client."""
    return partial(signed_post, client)
