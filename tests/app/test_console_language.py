"""The console in each staff member's language: the setting, its default (WORKING_LANGUAGE),
right-to-left pages, amounts in the user's locale, and no console text left outside gettext."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session, select

from casework.models import Case, CaseStatus, Outcome, Role, StaffUser
from casework.texts import SUPPORTED_LANGUAGES, catalog
from tests.app.console_support import fetch, make_case, make_staff, reload, sign_in
from tests.app.test_console_views import _post

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates" / "console"


def _translated(language: str, msgid: str) -> str:
    return catalog(language).gettext(msgid)


def _user(db: Session, **fields: Any) -> StaffUser:
    user = make_staff(db, Role.OMBUDSPERSON, languages=["en"], **fields)
    db.commit()
    return user


@pytest.mark.parametrize("language", [lang for lang in SUPPORTED_LANGUAGES if lang != "en"])
def test_the_queue_speaks_the_users_language(web: FlaskClient, db: Session, language: str) -> None:
    client = sign_in(web, _user(db, interface_language=language))
    page = client.get("/console/").text
    assert f'<html lang="{language}" dir="{"rtl" if language in ("ar", "ur") else "ltr"}">' in page
    for msgid in ("Queue", "Mediation agenda", "Sign out", "Filter"):
        assert _translated(language, msgid) != msgid
        assert _translated(language, msgid) in page, (language, msgid)
    assert ">Sign out<" not in page


def test_without_a_setting_the_console_speaks_the_working_language(make_app: Any) -> None:
    from app.db import get_session_factory

    application = make_app(WORKING_LANGUAGE="ar")
    with get_session_factory(application)() as db:
        user = _user(db)
    page = sign_in(application.test_client(), user).get("/console/").text
    assert '<html lang="ar" dir="rtl">' in page and _translated("ar", "Queue") in page


def test_an_unsupported_working_language_falls_back_to_english(make_app: Any) -> None:
    from app.db import get_session_factory

    application = make_app(WORKING_LANGUAGE="de")
    with get_session_factory(application)() as db:
        user = _user(db)
    page = sign_in(application.test_client(), user).get("/console/").text
    assert '<html lang="en" dir="ltr">' in page and ">Sign out<" in page


def test_the_setting_changes_the_language_and_refuses_an_unknown_one(web: FlaskClient, db: Session) -> None:
    user = _user(db)
    client = sign_in(web, user)
    bad = client.post("/console/settings", data={"interface_language": "xx", "time_zone": "UTC"})
    assert bad.status_code == 400 and "Choose one of the listed languages" in bad.text
    assert reload(db, user).interface_language is None
    good = client.post("/console/settings", data={"interface_language": "es", "time_zone": "UTC"})
    assert good.status_code == 303 and reload(db, user).interface_language == "es"
    page = client.get("/console/settings").text
    # the confirmation is already in the new language, and the choice is shown selected
    assert _translated("es", "Settings saved: times are shown in %(zone)s.") % {"zone": "UTC"} in page
    assert 'value="es" lang="es" selected' in page
    assert '<html lang="es"' in page


def _case_of(web: FlaskClient, db: Session, language: str, status: CaseStatus) -> tuple[FlaskClient, Case]:
    """A client signed in as a user whose console speaks `language`, and a case assigned to them."""
    user = _user(db, interface_language=language)
    case = make_case(db, status=status, assignee_id=user.id)
    db.commit()
    return sign_in(web, user), case


def test_a_flash_and_a_form_error_come_in_the_users_language(web: FlaskClient, db: Session) -> None:
    client, case = _case_of(web, db, "fr", CaseStatus.ASSIGNED)
    refused = client.post(f"/console/cases/{case.reference}/reply", data={"action": "preview", "text": ""})
    assert refused.status_code == 400 and _translated("fr", "Write a reply first.") in refused.text
    assert _post(client, case, "notes", body="vu").status_code == 303
    assert _translated("fr", "Note added.") in client.get(f"/console/cases/{case.reference}").text


def test_codes_are_named_in_the_users_language(web: FlaskClient, db: Session) -> None:
    user = _user(db, interface_language="es")
    case = make_case(db, status=CaseStatus.IN_MEDIATION, assignee_id=user.id, category="wage_theft")
    db.commit()
    page = sign_in(web, user).get("/console/").text
    assert _translated("es", "In mediation") in page and _translated("es", "Wage theft") in page
    assert ">in mediation<" not in page and case.reference in page


def test_amounts_are_read_as_the_users_language_writes_them(web: FlaskClient, db: Session) -> None:
    client, case = _case_of(web, db, "es", CaseStatus.INVESTIGATING)  # WORKING_LANGUAGE stays en
    done = _post(client, case, "outcome", resolution_type="remedied", amount_recovered="1.500,50", currency="PHP")
    assert done.status_code == 303, done.text
    (outcome,) = fetch(db, select(Outcome).where(Outcome.case_id == case.id))
    assert outcome.amount_recovered == Decimal("1500.50")
    assert "1.500,50" in client.get(f"/console/cases/{case.reference}").text  # and shown back so


class _VisibleText(HTMLParser):
    """Text a reader sees (text nodes and the attributes read aloud or shown), Jinja removed."""

    SHOWN = {"title", "aria-label", "placeholder", "alt", "value"}

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        for name, value in attrs:
            # an <input value> is data; a button's value is a code; only labels count
            if name in self.SHOWN - {"value"} and value:
                self.found.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.found.append(data)


# Shown as they are in every language: example values, codes and the product's name.
NOT_WORDS = {"K7M2-9QXD", "+63 917 123 4567", "SA", "ne", "domestic_work", "PHP", "Tulay", "TOTP", "UTC"}
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_console_text_bypasses_gettext(template: str) -> None:
    source = JINJA.sub(" ", (TEMPLATES / template).read_text(encoding="utf-8"))
    parser = _VisibleText()
    parser.feed(source)
    words = [
        token
        for text in parser.found
        for token in re.findall(r"[^\W\d_][\w'\u2019-]*", text)
        if token not in NOT_WORDS and not any(token in example for example in NOT_WORDS)
    ]
    assert not words, f"{template}: text outside gettext: {words[:20]}"
