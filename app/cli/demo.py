"""`flask demo seed`: demo staff, the default routing rules and sample cases for a pilot or a laptop."""

from __future__ import annotations

import secrets

import click
from flask import current_app
from flask.cli import AppGroup
from sqlmodel import Session, select

from app.db import session_scope
from app.jobs import intake_services
from app.security import create_user
from casework.intake import InboundMessage, accept_inbound, process_inbound
from casework.models import Case, DeliveryStatus, Direction, Message, Role, StaffUser, utcnow
from casework.routing import current_rules_text, latest_rule_set, save_rules

demo_cli = AppGroup("demo", help="Demo data for a pilot or a laptop.")


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
