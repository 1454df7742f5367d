"""`flask mt install|list`: machine-translation packages, installed from local files only."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.mt import build_service, engine_order, packages_dir, reset_translator
from casework.mt.argos import PackageError, install_package

mt_cli = AppGroup("mt", help="Machine-translation packages (offline).")


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
                package = install_package(path, target, progress=bar.update)
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
