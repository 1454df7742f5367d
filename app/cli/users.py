"""`flask users create` and `flask api-token`: staff accounts and their API tokens."""

from __future__ import annotations

import secrets
import sys

import click
from flask.cli import AppGroup
from sqlmodel import select

from app.db import session_scope
from app.security import WeakPassword, create_user, issue_api_token
from casework.models import Role, StaffUser
from casework.texts import SUPPORTED_LANGUAGES

users_cli = AppGroup("users", help="Staff accounts.")


def _language_codes(values: tuple[str, ...]) -> list[str]:
    codes = [code.strip().lower() for value in values for code in value.split(",") if code.strip()]
    unknown = [c for c in codes if c not in SUPPORTED_LANGUAGES]
    if unknown:
        raise click.BadParameter(f"unsupported language code(s): {', '.join(unknown)}", param_hint="--language")
    return codes or ["en"]


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--language", "languages", multiple=True, help="Language(s) the user reads, e.g. --language es.")
@click.option("--team", default=None)
@click.option("--supervisor", is_flag=True, help="Receives escalations of overdue cases.")
def users_create(
    email: str, role: str, password_stdin: bool, languages: tuple[str, ...], team: str | None, supervisor: bool
) -> None:
    """Create a staff user; prints a generated password unless --password-stdin is given."""
    codes = _language_codes(languages)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(12)
    try:
        with session_scope() as session:
            create_user(
                session, email=email, role=role, password=password, languages=codes, team=team, is_supervisor=supervisor
            )
    except (ValueError, WeakPassword) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {role} {email.strip().lower()}")
    if not password_stdin:
        click.echo(f"password: {password}")


@click.command("api-token")
@click.argument("email")
def api_token(email: str) -> None:
    """Print a new API token for a staff user."""
    with session_scope() as session:
        user = session.exec(select(StaffUser).where(StaffUser.email == email.strip().lower())).first()
        if user is None or not user.active:
            raise click.ClickException(f"no active staff user with e-mail {email}")
        token = issue_api_token(session, user)
    click.echo(token)
