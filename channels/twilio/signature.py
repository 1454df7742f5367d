"""Verify Twilio's `X-Twilio-Signature` on webhooks, with the twilio library's own validator.

Twilio signs the URL it called (our `PUBLIC_BASE_URL` + path + query, as configured in its
console) plus the POST parameters; see https://www.twilio.com/docs/usage/webhooks/webhooks-security.
Behind a proxy the request's own host and scheme are not what Twilio signed, so the URL is
rebuilt from `PUBLIC_BASE_URL`, never from the Host header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

__all__ = ["SIGNATURE_HEADER", "SIGNATURE_SETTINGS_HEADER", "public_url", "signature_is_valid"]


def public_url(public_base_url: str, path: str, query_string: str = "") -> str:
    """The URL Twilio signed for a request to `path` (with its raw query string, if any)."""
    url = public_base_url.rstrip("/") + path
    return f"{url}?{query_string}" if query_string else url


def signature_is_valid(
    auth_token: str, url: str, params: Mapping[str, Any], signature: str | None, settings_header: str | None = None
) -> bool:
    """Whether `signature` is Twilio's signature of `url` + `params` under `auth_token`.

    An empty token or a missing signature is never valid: an unconfigured deployment refuses
    every webhook rather than trusting any of them.
    """
    if not auth_token or not signature:
        return False
    algorithm = get_signature_algorithm(settings_header)
    return bool(RequestValidator(auth_token).validate(url, params, signature, algorithm=algorithm))
