"""The browser fixtures work: Chromium loads a page from the live server."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.browser
def test_chromium_renders_healthz(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/healthz")
    assert '"database":"ok"' in page.content().replace(" ", "")
