"""Page languages (Flask-Babel) and the gettext catalogs shared with reporter SMS texts."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request
from flask_babel import Babel

from casework.texts import RTL_LANGUAGES, SUPPORTED_LANGUAGES, TRANSLATIONS_DIR, catalog

babel = Babel()


def compile_catalogs(directory: Path = TRANSLATIONS_DIR, force: bool = False) -> list[str]:
    """Compile each messages.po whose .mo is missing or older; returns the languages compiled.

    Runs at every process start (web and worker), so no deploy step can forget it.
    """
    compiled = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            parsed = read_po(po_file, locale=po_path.parent.parent.name)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, parsed, use_fuzzy=False)
        tmp.replace(mo_path)  # atomic: a concurrent reader never sees a half-written file
        compiled.append(po_path.parent.parent.name)
    if compiled:
        catalog.cache_clear()
    return compiled


def select_locale() -> str:
    """The `lang` query/form value, else the session's choice, else Accept-Language, else English."""
    chosen = request.args.get("lang") or request.form.get("lang")
    if chosen in SUPPORTED_LANGUAGES:
        return chosen
    return request.accept_languages.best_match(SUPPORTED_LANGUAGES) or "en"


def text_direction(language: str) -> str:
    return "rtl" if language in RTL_LANGUAGES else "ltr"


def init_app(app: Flask) -> None:
    compile_catalogs()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    app.config["LANGUAGES"] = SUPPORTED_LANGUAGES
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def _language_context() -> dict[str, object]:
        from flask_babel import get_locale

        language = str(get_locale() or "en")
        g.page_language = language
        return {"page_language": language, "text_direction": text_direction(language),
                "supported_languages": SUPPORTED_LANGUAGES}
