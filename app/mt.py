"""The machine-translation registry of a process, and the `flask mt` commands.

`get_translator()` builds one `TranslationService` per app (so per process) from the installed
argos packages and Apertium, in the order of `MT_ENGINE_ORDER`; the first engine listed that
has a pair translates it. Nothing here touches the network: packages install from local files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from casework.mt.apertium import ApertiumEngine
from casework.mt.argos import ArgosEngine, PackageError, install_package, installed_packages
from casework.translation import TranslationEngine, TranslationService

EXTENSION_KEY = "tulay.mt"
ENGINES = ("argos", "apertium")

mt_cli = AppGroup("mt", help="Machine-translation packages (offline).")


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


@mt_cli.command("install")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def mt_install(paths: tuple[Path, ...]) -> None:
    """Install .argosmodel files from local PATHs (never downloads anything)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    target = packages_dir(app)
    failures = []
    for path in paths:
        size = path.stat().st_size if path.is_file() else 0
        try:
            with click.progressbar(length=max(size, 1), label=f"installing {path.name}", file=sys.stderr) as bar:
                package = install_package(path, target, progress=lambda n, bar=bar: bar.update(n))
        except PackageError as exc:
            failures.append(str(exc))
            click.echo(f"error: {exc}", err=True)
            continue
        click.echo(f"installed {package.source} → {package.target} (version {package.version}) from {path.name}")
    reset_translator(app)
    if failures:
        raise click.ClickException(f"{len(failures)} of {len(paths)} package(s) not installed")


@mt_cli.command("list")
def mt_list() -> None:
    """List the installed translation pairs with their engine and model version."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    service = build_service(app)
    rows = service.pairs()
    click.echo(f"engine order: {','.join(engine_order(app)) or '(none)'}; argos packages in {packages_dir(app)}")
    if not rows:
        click.echo("no translation pairs installed: every non-working-language message needs a human translator")
        return
    for source, target, engine, version in rows:
        in_use = service.engine_for(source, target)
        mark = "" if in_use is not None and in_use.name == engine else "  (shadowed by an earlier engine)"
        click.echo(f"{source} → {target}  {engine:<9} {version}{mark}")


def init_app(app: Flask) -> None:
    app.cli.add_command(mt_cli)
