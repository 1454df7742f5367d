"""Every reporter-facing string is translated in every supported language, with exact placeholders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from app.i18n import compile_catalogs
from casework.texts import STATUS_TEXTS, SUPPORTED_LANGUAGES, TEXTS, TRANSLATIONS_DIR, render_text

TRANSLATED = [lang for lang in SUPPORTED_LANGUAGES if lang != "en"]
# Strings that may rightly read the same as the English source in another language: a name
# (WhatsApp) or a term most languages borrow as is (PIN, SMS).
SAME_AS_SOURCE = {"PIN", "SMS", "WhatsApp"}
# Words one language spells exactly as English does.
SAME_IN_LANGUAGE = {("es", "No"), ("fr", "Police"), ("fr", "Ambulance"), ("tl", "Emergency")}


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def source_ids(catalog: Catalog) -> set[str]:
    return {message.id for message in catalog if message.id}


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    compile_catalogs()


@pytest.fixture(scope="module")
def template() -> Catalog:
    return load(TRANSLATIONS_DIR / "messages.pot")


@pytest.fixture
def project_root() -> Iterator[Path]:
    before = Path.cwd()
    os.chdir(TRANSLATIONS_DIR.parent)
    yield TRANSLATIONS_DIR.parent
    os.chdir(before)


def test_template_matches_the_source_code(tmp_path: Path, template: Catalog, project_root: Path) -> None:
    fresh = tmp_path / "messages.pot"
    # The same extraction as `make extract`.
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            "translations/babel.cfg",
            "-k",
            "N_",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "-o",
            str(fresh),
            ".",
        ]
    )
    missing = source_ids(load(fresh)) - source_ids(template)
    stale = source_ids(template) - source_ids(load(fresh))
    assert not missing and not stale, f"run `make extract`: new {sorted(missing)}, gone {sorted(stale)}"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_catalog_has_every_message(language: str, template: Catalog) -> None:
    catalog = load(TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po", language)
    missing = source_ids(template) - source_ids(catalog)
    assert not missing, f"{language}: missing {sorted(missing)}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalog_is_fully_translated_with_exact_placeholders(language: str, template: Catalog) -> None:
    catalog = load(TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po", language)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if not message.string:
            problems.append(f"empty: {message.id!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif (
            message.string == message.id
            and message.id not in SAME_AS_SOURCE
            and (language, message.id) not in SAME_IN_LANGUAGE
        ):
            problems.append(f"left in English: {message.id!r}")
    # Babel's own checkers: python-format placeholders must match the msgid's exactly.
    for message, errors in catalog.check():
        problems.extend(f"{error}: {message.id!r}" for error in errors)
    assert not problems, f"{language}:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_sms_text_renders_with_its_parameters(language: str) -> None:
    for key in TEXTS:
        text = render_text(key, language, reference="AB12-CD34", days=2, status="in_mediation", code="480916")
        assert "%(" not in text
        if "%(reference)s" in TEXTS[key]:
            assert "AB12-CD34" in text
        if "%(code)s" in TEXTS[key]:
            assert "480916" in text
    for msgid in STATUS_TEXTS.values():
        assert render_text("status", language, reference="AB12-CD34", status=msgid)


def test_a_checker_catches_a_broken_placeholder(tmp_path: Path) -> None:
    catalog = Catalog(locale="es")
    catalog.add("Case %(reference)s", "Caso %(referencia)s", flags=["python-format"])
    assert any(errors for _message, errors in catalog.check())


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", "a partir de ahora le escribiremos en español"),
        ("ar", "سنكتب لك بالعربية"),
        ("tl", "susulatan ka namin sa Tagalog"),
        ("zh", "用中文"),
    ],
)
def test_texts_come_from_the_language_catalog(language: str, expected: str) -> None:
    assert expected in render_text("language_switched", language)
