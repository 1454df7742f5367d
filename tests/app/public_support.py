"""Helpers shared by the public-page tests: submit a report and read back what the page showed."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func
from sqlmodel import Session, select

REPORT = {
    "body": "No me han pagado en tres meses y tienen mi pasaporte.",
    "country": "AE",
    "sector": "construction",
    "employer": "Al Noor  Contracting",
    "name": "",
    "phone": "",
}


def submit_report(client: FlaskClient, lang: str = "es", **changes: Any) -> tuple[str, str, Any]:
    """POST a valid report; returns (reference, pin, response)."""
    response = client.post(f"/report?lang={lang}", data={**REPORT, **changes})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    page = response.get_data(as_text=True)
    reference = re.search(r'id="reference">([^<]+)<', page)
    pin = re.search(r'id="pin">([^<]+)<', page)
    assert reference and pin
    return reference.group(1), pin.group(1), response


def view_token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, "no add-a-message form on the page"
    return found.group(1)


def count(session: Session, model: type) -> int:
    """Rows of `model` now; ends its read transaction (on SQLite it would block the app's writes)."""
    session.expire_all()
    rows = int(session.exec(select(func.count()).select_from(model)).one())
    session.rollback()
    return rows
