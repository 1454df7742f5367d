"""Page languages (Flask-Babel) and the gettext catalogs shared with reporter SMS texts."""

from __future__ import annotations

from functools import cache, cached_property
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, Domain, get_locale
from flask_login import current_user

from casework.texts import DEFAULT_LANGUAGE, RTL_LANGUAGES, SUPPORTED_LANGUAGES, TRANSLATIONS_DIR, catalog


class CatalogDomain(Domain):
    """Pages read the same catalogs as SMS texts, by our language code.

    Flask-Babel would look catalogs up by Babel's locale name, and Babel reads "tl" as
    "fil_PH", so the Tagalog catalog (translations/tl) would never load for a page.
    """

    def get_translations(self) -> NullTranslations:
        if not has_request_context():
            return catalog(DEFAULT_LANGUAGE)
        get_locale()  # runs select_locale once per request, which sets g.page_language
        return catalog(g.get("page_language", DEFAULT_LANGUAGE))


class TulayBabel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:
        return CatalogDomain()


babel = TulayBabel()


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
    """Console pages: the staff member's interface language. Public pages: the `lang` query
    value, else Accept-Language, else English. Unknown codes fall through.

    Only the query string is read (forms post to a URL carrying `lang`): reading the body
    here would parse it before the view, and an oversized body would fail in the error page.
    """
    if request.blueprint == "console" or request.path.startswith("/console/"):
        language = console_language(getattr(current_user, "interface_language", None))
    else:
        chosen = request.args.get("lang", "")
        language = (
            chosen
            if chosen in SUPPORTED_LANGUAGES
            else (request.accept_languages.best_match(SUPPORTED_LANGUAGES) or DEFAULT_LANGUAGE)
        )
    g.page_language = language
    return language


def console_language(chosen: str | None) -> str:
    """The language the console speaks: the user's choice, else WORKING_LANGUAGE, else English."""
    for language in (chosen, current_app.config.get("WORKING_LANGUAGE")):
        if language in SUPPORTED_LANGUAGES:
            return str(language)
    return DEFAULT_LANGUAGE


def page_language() -> str:
    """Our code for the current page's language (e.g. "tl", where Babel's locale says fil_PH)."""
    get_locale()
    return str(g.get("page_language", DEFAULT_LANGUAGE))


def text_direction(language: str) -> str:
    return "rtl" if language in RTL_LANGUAGES else "ltr"


def babel_locale(language: str) -> Locale:
    """Babel's locale for one of our language codes (CLDR names Tagalog `fil`)."""
    return Locale.parse("fil" if language == "tl" else language)


@cache
def language_names() -> dict[str, str]:
    """Each supported language named in itself, for the language switcher."""
    names = {code: babel_locale(code).get_display_name() or code for code in SUPPORTED_LANGUAGES}
    # Upper-case only the first letter: str.capitalize() would write "Tiếng việt".
    return {code: name[:1].upper() + name[1:] for code, name in names.items()}


@cache
def country_choices(language: str, codes: frozenset[str]) -> list[tuple[str, str]]:
    """(code, name in `language`) for `codes`, sorted by name."""
    names = babel_locale(language).territories
    return sorted(((code, names.get(code, code)) for code in codes), key=lambda item: item[1].casefold())


def init_app(app: Flask) -> None:
    compile_catalogs()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    app.config["LANGUAGES"] = SUPPORTED_LANGUAGES
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def _language_context() -> dict[str, object]:
        language = page_language()
        return {
            "page_language": language,
            "text_direction": text_direction(language),
            "supported_languages": SUPPORTED_LANGUAGES,
            "language_names": language_names(),
        }
