"""Fixed texts sent to reporters (acknowledgements, keyword replies, status), rendered from
the gettext catalogs in `translations/` without Flask, so workers can use them.

Machine translation is never used for these: they are written and reviewed per language.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
SUPPORTED_LANGUAGES = (
    "en",
    "es",
    "fr",
    "pt",
    "ar",
    "hi",
    "bn",
    "ne",
    "tl",
    "id",
    "vi",
    "my",
    "am",
    "sw",
    "ru",
    "uk",
    "zh",
    "ur",
)
RTL_LANGUAGES = frozenset({"ar", "ur"})
DEFAULT_LANGUAGE = "en"


def N_(message: str) -> str:
    """Mark a string for extraction by pybabel; it is translated when rendered."""
    return message


# Keyed so that code names the purpose, not the wording.
TEXTS: dict[str, str] = {
    "ack": N_(
        "Tulay: we received your message. Your case number is %(reference)s. "
        "Someone will reply within %(days)s days. Reply STOP to stop messages, HELP for help."
    ),
    "ack_followup": N_("Tulay: we added your message to case %(reference)s."),
    "help": N_(
        "Tulay grievance hotline. Write to us in your language about your problem at work. "
        "STATUS: case status. STOP: no more messages. LANG + code (e.g. LANG es): change language."
    ),
    "stopped": N_("Tulay: you will get no more messages from us. Reply START to receive messages again."),
    "started": N_("Tulay: messages are on again. Write to us any time."),
    "status": N_("Tulay: case %(reference)s is %(status)s."),
    "status_none": N_("Tulay: we have no open case for this number. Write to us to open one."),
    "language_switched": N_("Tulay: we will write to you in English from now on."),
    "language_unknown": N_("Tulay: we do not know that language code. Reply LANG + code, e.g. LANG es."),
    "contact_code": N_(
        "Tulay: your code is %(code)s. Enter it on the status page of your case to get our replies "
        "by message. If you did not ask for this, ignore it."
    ),
}

# Case status names as a reporter reads them (not the internal state names).
STATUS_TEXTS: dict[str, str] = {
    "new": N_("received"),
    "triaged": N_("being reviewed"),
    "assigned": N_("with a caseworker"),
    "investigating": N_("under investigation"),
    "in_mediation": N_("in mediation"),
    "referred": N_("referred to labour inspection"),
    "resolved": N_("resolved"),
    "closed": N_("closed"),
}

# Sectors a reporter can choose on the web form (`Case.sector` codes), as a reporter reads them.
SECTOR_TEXTS: dict[str, str] = {
    "domestic_work": N_("Domestic work"),
    "construction": N_("Construction"),
    "agriculture_fishing": N_("Farming or fishing"),
    "manufacturing": N_("Factory work"),
    "hospitality_cleaning": N_("Hotels, restaurants or cleaning"),
    "care_work": N_("Care work"),
    "transport_delivery": N_("Transport or delivery"),
    "other": N_("Other work"),
}


def normalize_language(code: str | None) -> str:
    """Map a tag such as 'es-MX' or 'zh_Hans' onto a supported language, else the default."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.replace("_", "-").split("-")[0].lower()
    return base if base in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


@cache
def catalog(language: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS_DIR), [language], domain="messages")


def gettext_for(language: str, message: str) -> str:
    return catalog(normalize_language(language)).gettext(message)


def render_text(key: str, language: str | None, **params: object) -> str:
    """The text `key` in `language` (falling back to English), with %(name)s params filled in."""
    lang = normalize_language(language)
    text = gettext_for(lang, TEXTS[key])
    if "status" in params and isinstance(params["status"], str):
        params["status"] = gettext_for(lang, STATUS_TEXTS.get(params["status"], params["status"]))
    return text % params if params else text
