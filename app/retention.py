"""Retention wiring: media file deletion under the instance folder, and `flask reporter erase`."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlmodel import select

from app.db import session_scope
from casework.cases import normalize_reference
from casework.models import Case
from casework.retention import ErasureRefused, erase_reporter

log = logging.getLogger(__name__)
reporter_cli = AppGroup("reporter", help="Reporters' personal data.")


def delete_media_file(stored_path: str) -> None:
    """Delete a stored media file; relative paths are under instance/media, nothing outside the instance."""
    instance = Path(current_app.instance_path).resolve()
    path = Path(stored_path)
    path = (path if path.is_absolute() else instance / "media" / path).resolve()
    if not path.is_relative_to(instance):
        raise ValueError("refusing to delete a media file outside the instance folder")
    path.unlink(missing_ok=True)


@reporter_cli.command("erase")
@click.argument("reference")
def reporter_erase(reference: str) -> None:
    """Erase the personal data of the reporter of case REFERENCE (all their cases, once closed)."""
    normalized = normalize_reference(reference)
    if normalized is None:
        raise click.BadParameter("not a case reference (like K7M2-9QXD)", param_hint="REFERENCE")
    try:
        with session_scope() as session:
            case = session.exec(select(Case).where(Case.reference == normalized)).first()
            if case is None:
                raise click.ClickException(f"no case {normalized}")
            erased = erase_reporter(session, case, delete_file=delete_media_file)
    except ErasureRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"erased personal data of {erased} case(s); anonymized compliance records kept")
