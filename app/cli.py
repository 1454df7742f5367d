"""Operator commands: `flask --app app <command>`."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlmodel import Session, select

from app.db import session_scope
from app.jobs import intake_services
from app.queues import QUEUE_NAMES
from app.security import WeakPassword, create_user, issue_api_token
from casework.intake import InboundMessage, accept_inbound, process_inbound
from casework.models import Case, DeliveryStatus, Direction, Message, Role, StaffUser, utcnow
from casework.routing import current_rules_text, latest_rule_set, save_rules
from casework.texts import SUPPORTED_LANGUAGES

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
users_cli = AppGroup("users", help="Staff accounts.")
demo_cli = AppGroup("demo", help="Demo data for a pilot or a laptop.")
translate_cli = AppGroup("translate", help="Interface translations (gettext catalogs).")
routing_cli = AppGroup("routing-rules", help="Routing rules (YAML data; the newest saved version is in force).")

# Fictional numbers (+1 555 01xx is reserved for fiction) and texts written for the demo; each
# provider id is fixed, so a second seed finds the message already stored and creates nothing.
DEMO_REPORTS = [
    (
        "demo-seed-1",
        "sms",
        "+15555550101",
        "Hola, trabajo en un invernadero en Almería. Mi patrón Agrícola Levante no me paga el salario desde hace "
        "tres meses y me quitaron el pasaporte.",
    ),
    (
        "demo-seed-2",
        "whatsapp",
        "+15555550102",
        "Magandang araw po. Hawak ng amo ang passport ko at ayaw niya akong palabasin ng bahay. "
        "Kasambahay po ako sa Riyadh.",
    ),
    (
        "demo-seed-3",
        "sms",
        "+15555550103",
        "नमस्ते, म कतारमा एउटा निर्माण कम्पनीमा काम गर्छु। तीन महिनादेखि तलब पाएको छैन र कोठामा पानी छैन।",
    ),
    (
        "demo-seed-4",
        "sms",
        "+15555550104",
        "Hi, I work at a fish processing plant in Alaska. My recruiter is Blue Harbor Manpower. They charged me a "
        "recruitment fee of 3000 dollars and now say I must pay more or be sent home.",
    ),
    (
        "demo-seed-5",
        "whatsapp",
        "+15555550105",
        "Tuve un accidente en la fábrica, me corté la mano con una máquina y la empresa no quiere pagar el médico.",
    ),
]

DEMO_STAFF = [
    ("admin@tulay.example", Role.ADMIN, ["en"], None, True),
    ("ombuds@tulay.example", Role.OMBUDSPERSON, ["en", "es", "tl"], "ombuds", True),
    ("mediator@tulay.example", Role.MEDIATOR, ["en", "es"], "mediation", False),
    ("analyst@tulay.example", Role.ANALYST, ["en"], None, False),
]


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["sqlalchemy_url"] = url
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    alembic_command.upgrade(alembic_config(url), revision)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database schema up to REVISION (default: head)."""
    upgrade_database(current_app.config["SQLALCHEMY_URL"], revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database schema down to REVISION."""
    alembic_command.downgrade(alembic_config(current_app.config["SQLALCHEMY_URL"]), revision)
    click.echo(f"database at {revision}")


@click.command("worker")
@click.option(
    "--queue",
    "-q",
    "queue_names",
    multiple=True,
    type=click.Choice(QUEUE_NAMES),
    help="Queues to serve, in priority order (default: all).",
)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--cron/--no-cron", default=True, help="Also enqueue periodic jobs (sweeper, escalation).")
def worker_command(queue_names: tuple[str, ...], burst: bool, cron: bool) -> None:
    """Run an RQ worker with an app context."""
    from app.worker import run_worker

    run_worker(
        current_app._get_current_object(),
        queue_names or QUEUE_NAMES,  # type: ignore[attr-defined]
        burst=burst,
        with_cron=cron,
    )


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


def seed_demo_staff() -> list[tuple[str, str, str]]:
    """Create the demo staff accounts that don't exist yet; returns (email, role, password) of new ones."""
    created = []
    with session_scope() as session:
        for email, role, languages, team, supervisor in DEMO_STAFF:
            if session.exec(select(StaffUser).where(StaffUser.email == email)).first() is not None:
                continue
            password = secrets.token_urlsafe(12)
            create_user(
                session,
                email=email,
                role=role,
                password=password,
                languages=languages,
                team=team,
                is_supervisor=supervisor,
            )
            created.append((email, role.value, password))
    return created


def seed_routing_rules(session: Session) -> tuple[int, bool]:
    """Save the default routing rules file as the version in force unless one is saved; (version, created)."""
    saved = latest_rule_set(session)
    if saved is not None and saved.id is not None:
        return saved.id, False
    admin = session.exec(select(StaffUser).where(StaffUser.email == DEMO_STAFF[0][0])).first()
    text, _ = current_rules_text(session, current_app.config["ROUTING_RULES_PATH"])
    rule_set = save_rules(session, text, admin.id if admin is not None else None)
    assert rule_set.id is not None
    return rule_set.id, True


def seed_demo_cases(session: Session) -> list[Case]:
    """Store the demo reports as inbound messages and run them through the intake pipeline; new cases only.

    The acknowledgements the pipeline queues go to fictional numbers, so they are suppressed
    (`delivery_error_code="demo"`) instead of being handed to Twilio.
    """
    services = intake_services()
    opened: list[Case] = []
    for external_id, channel, sender, body in DEMO_REPORTS:
        message, created = accept_inbound(
            session,
            InboundMessage(channel=channel, external_id=external_id, sender=sender, body=body, received_at=utcnow()),
        )
        processed = process_inbound(session, message.id or 0, services)
        if created and processed is not None and processed.case_id is not None:
            opened.append(session.get_one(Case, processed.case_id))
        queued = session.exec(
            select(Message).where(
                Message.reporter_id == message.reporter_id,
                Message.direction == Direction.OUTBOUND,
                Message.delivery_status == DeliveryStatus.QUEUED,
            )
        ).all()
        for reply in queued:
            reply.delivery_status, reply.delivery_error_code = DeliveryStatus.SUPPRESSED, "demo"
            session.add(reply)
    return opened


@demo_cli.command("seed")
def demo_seed() -> None:
    """Create demo staff (passwords printed once), the default routing rules and sample cases."""
    created = seed_demo_staff()
    for email, role, password in created:
        click.echo(f"  {role:<13} {email:<26} password: {password}")
    if not created:
        click.echo("demo staff already exist (their passwords were printed when they were created)")
    with session_scope() as session:
        version, saved = seed_routing_rules(session)
        cases = seed_demo_cases(session)
        lines = [
            f"  {case.reference}  {case.language or '?':<3} {case.category or 'untriaged':<22} "
            f"{case.urgency:<8} {case.route or '-':<12} "
            f"{'needs human translator' if case.needs_human_translation else ''}".rstrip()
            for case in cases
        ]
    click.echo(f"routing rules: {'saved the defaults as' if saved else 'already saved,'} version {version}")
    click.echo(f"sample cases: {len(lines)} created" if lines else "sample cases already exist")
    for line in lines:
        click.echo(line)


@translate_cli.command("compile")
def translate_compile() -> None:
    """Compile every translations/*/LC_MESSAGES/messages.po to .mo."""
    from app.i18n import compile_catalogs

    compiled = compile_catalogs(force=True)
    click.echo(f"compiled {len(compiled)} catalogs")


@routing_cli.command("show")
def routing_rules_show() -> None:
    """Print the routing rules in force."""
    from casework.routing import current_rules_text

    with session_scope() as session:
        text, version = current_rules_text(session, current_app.config["ROUTING_RULES_PATH"])
    click.echo(f"# version {version}" if version else "# defaults from ROUTING_RULES_PATH")
    click.echo(text.rstrip("\n"))


@routing_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", "actor_email", required=True, help="e-mail of the admin saving the rules (audited)")
def routing_rules_load(path: Path, actor_email: str) -> None:
    """Validate the rules in PATH and save them as the new version in force."""
    from casework.routing import RoutingRulesError, save_rules

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


def register_cli(app: Flask) -> None:
    for command in (db_cli, users_cli, demo_cli, translate_cli, routing_cli, worker_command, api_token):
        app.cli.add_command(command)
