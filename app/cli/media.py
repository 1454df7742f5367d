"""`flask media orphans`: stored media files and attachment rows that have lost each other."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.db import session_scope
from app.media import check_media, delete_media

media_cli = AppGroup("media", help="Stored media files (photos of contracts, payslips).")


@media_cli.command("orphans")
@click.option("--delete", is_flag=True, help="Delete the files no attachment row points at.")
def media_orphans(delete: bool) -> None:
    """List files with no attachment row and rows whose file is missing; exit 1 if any is left."""
    with session_scope() as session:
        check = check_media(session)
    for stored_path in check.files_without_row:
        click.echo(f"file without row: {stored_path}")
        if delete:
            delete_media(stored_path)
    for attachment_id in check.rows_without_file:
        click.echo(f"row without file: attachment {attachment_id}")
    found = len(check.files_without_row) + len(check.rows_without_file)
    click.echo(f"{found} orphan(s)" + (f"; deleted {len(check.files_without_row)} file(s)" if delete else ""))
    if check.rows_without_file or (check.files_without_row and not delete):
        raise SystemExit(1)  # something is left for an operator to look at
