"""`flask reporter erase`: erase a reporter's personal data on their request (compliance records stay)."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlmodel import select

from app.db import session_scope
from app.media import delete_media
from casework.cases import normalize_reference
from casework.models import Case
from casework.retention import ErasureRefused, erase_reporter

reporter_cli = AppGroup("reporter", help="Reporters' personal data.")


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
            erased = erase_reporter(session, case, delete_file=delete_media)
    except ErasureRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"erased personal data of {erased} case(s); anonymized compliance records kept")
