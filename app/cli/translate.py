"""`flask translate compile`: the interface's gettext catalogs."""

from __future__ import annotations

import click
from flask.cli import AppGroup

translate_cli = AppGroup("translate", help="Interface translations (gettext catalogs).")


@translate_cli.command("compile")
def translate_compile() -> None:
    """Compile every translations/*/LC_MESSAGES/messages.po to .mo."""
    from app.i18n import compile_catalogs

    compiled = compile_catalogs(force=True)
    click.echo(f"compiled {len(compiled)} catalogs")
