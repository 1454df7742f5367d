"""`flask users …` and `flask api-token`: staff accounts and their API tokens.

`users list | create | deactivate | reactivate | set-role | reset-password | reset-totp`. Each change goes
through `casework.staff` (audited, actor "system"); an unknown e-mail or role exits non-zero
and changes nothing. Nothing secret is printed except what the command exists to hand over
(a generated password, a reset link, a token), once.
"""

from __future__ import annotations

import secrets
import sys
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlmodel import select

from app.db import session_scope
from app.security import WeakPassword, create_user, issue_api_token
from casework import staff
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


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def _list_row(user: StaffUser) -> tuple[str, ...]:
    active = "yes" if user.active else "no"
    return (user.email, Role(user.role).value, active, "on" if user.totp_secret else "off", _when(user.last_login_at))


@users_cli.command("list")
def users_list() -> None:
    """Print every staff account: e-mail, role, active, two-step sign-in on/off, last sign-in."""
    with session_scope() as session:
        rows = [_list_row(u) for u in staff.list_users(session)]
    header = ("email", "role", "active", "totp", "last login")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(value).ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())


def _change(email: str, change: str) -> None:
    """Apply one `casework.staff` change to the account with `email`, committed, or exit non-zero."""
    try:
        with session_scope() as session:
            user = staff.find_user(session, email)
            if change == "deactivate":
                staff.deactivate(session, user, actor_id=None)
            elif change == "reactivate":
                staff.reactivate(session, user, actor_id=None)
            elif change == "reset-totp":
                staff.reset_totp(session, user, actor_id=None)
            else:
                staff.set_role(session, user, change, actor_id=None)
    except staff.StaffError as exc:
        raise click.ClickException(str(exc)) from None


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Deactivate a staff user: sign-in refused, sessions and API tokens end at once."""
    _change(email, "deactivate")
    click.echo(f"deactivated {email.strip().lower()}: sessions ended, API tokens revoked")


@users_cli.command("reactivate")
@click.argument("email")
def users_reactivate(email: str) -> None:
    """Let a deactivated staff user sign in again (old sessions, API tokens and reset links stay dead)."""
    _change(email, "reactivate")
    click.echo(f"reactivated {email.strip().lower()}: they can sign in; issue an API token anew if needed")


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role")
def users_set_role(email: str, role: str) -> None:
    """Give a staff user another role (admin, ombudsperson, mediator, analyst)."""
    try:
        parsed = staff.parse_role(role)
    except staff.UnknownRole as exc:
        raise click.ClickException(str(exc)) from None
    _change(email, parsed.value)
    click.echo(f"{email.strip().lower()} is now {parsed.value}")


@users_cli.command("reset-totp")
@click.argument("email")
def users_reset_totp(email: str) -> None:
    """Turn a staff user's two-step sign-in off (lost device); their sessions end."""
    _change(email, "reset-totp")
    click.echo(f"two-step sign-in is off for {email.strip().lower()}; they can enrol again")


@users_cli.command("reset-password")
@click.argument("email")
def users_reset_password(email: str) -> None:
    """Print a one-time password-reset link (valid 1 hour) to hand to the user in person."""
    try:
        with session_scope() as session:
            user = staff.find_user(session, email)
            token, expires_at = staff.issue_password_reset(session, user, actor_id=None)
    except staff.StaffError as exc:
        raise click.ClickException(str(exc)) from None
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    click.echo(f"reset link (works once, until {_when(expires_at)}):")
    click.echo(f"{base}/console/password-reset/{token}")


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
