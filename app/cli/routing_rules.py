"""`flask routing-rules show|load`: routing rules are data; the newest saved version is in force."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlmodel import select

from app.db import session_scope
from casework.models import Role, StaffUser
from casework.routing import RoutingRulesError, current_rules_text, save_rules

routing_cli = AppGroup("routing-rules", help="Routing rules (YAML data; the newest saved version is in force).")


@routing_cli.command("show")
def routing_rules_show() -> None:
    """Print the routing rules in force."""

    with session_scope() as session:
        text, version = current_rules_text(session, current_app.config["ROUTING_RULES_PATH"])
    click.echo(f"# version {version}" if version else "# defaults from ROUTING_RULES_PATH")
    click.echo(text.rstrip("\n"))


@routing_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", "actor_email", required=True, help="e-mail of the admin saving the rules (audited)")
def routing_rules_load(path: Path, actor_email: str) -> None:
    """Validate the rules in PATH and save them as the new version in force."""

    with session_scope() as session:
        actor = session.exec(select(StaffUser).where(StaffUser.email == actor_email.strip().lower())).first()
        if actor is None or actor.role != Role.ADMIN or not actor.active:
            raise click.ClickException(f"{actor_email} is not an active admin")
        try:
            saved = save_rules(session, path.read_text(encoding="utf-8"), actor.id)
        except RoutingRulesError as exc:
            raise click.ClickException(str(exc)) from None
        version = saved.id
    click.echo(f"saved routing rules version {version}")
