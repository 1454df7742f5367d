"""The machine-translation registry of a process (its commands are in `app/cli/mt.py`).

`get_translator()` builds one `TranslationService` per app (so per process) from the installed
argos packages and Apertium, in the order of `MT_ENGINE_ORDER`; the first engine listed that
has a pair translates it. Nothing here touches the network: packages install from local files.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from casework.mt.apertium import ApertiumEngine
from casework.mt.argos import ArgosEngine, installed_packages
from casework.translation import TranslationEngine, TranslationService

EXTENSION_KEY = "tulay.mt"
ENGINES = ("argos", "apertium")


def packages_dir(app: Flask) -> Path:
    configured = app.config.get("ARGOS_PACKAGES_DIR") or ""
    return Path(configured) if configured else Path(app.instance_path) / "argos-packages"


def engine_order(app: Flask) -> list[str]:
    return [name.strip() for name in app.config.get("MT_ENGINE_ORDER", "").split(",") if name.strip()]


def build_service(app: Flask) -> TranslationService:
    """A new service with the engines `MT_ENGINE_ORDER` names, in that order."""
    engines: list[TranslationEngine] = []
    for name in engine_order(app):
        if name == "argos":
            packages = installed_packages(packages_dir(app))
            if packages:
                engines.append(ArgosEngine(packages))
        elif name == "apertium":
            apertium = ApertiumEngine()
            if apertium.pairs():
                engines.append(apertium)
    return TranslationService(engines)


def get_translator(app: Flask | None = None) -> TranslationService:
    """The app's translation service, built on first use and kept for the process's life."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    service = app.extensions.get(EXTENSION_KEY)
    if service is None:
        service = app.extensions[EXTENSION_KEY] = build_service(app)
    return service


def reset_translator(app: Flask) -> None:
    """Forget the built service (after installing packages) so the next use rebuilds it."""
    app.extensions.pop(EXTENSION_KEY, None)


def uses_argos(service: TranslationService) -> bool:
    return any(isinstance(engine, ArgosEngine) for engine in service.engines)
