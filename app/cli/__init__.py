"""Operator commands, `flask --app app <command>`: one module per command group."""

from __future__ import annotations

from flask import Flask

from app.cli.compliance import compliance_cli
from app.cli.db import db_cli
from app.cli.demo import demo_cli
from app.cli.media import media_cli
from app.cli.mt import mt_cli
from app.cli.reporter import reporter_cli
from app.cli.routing_rules import routing_cli
from app.cli.translate import translate_cli
from app.cli.triage import triage_cli
from app.cli.users import api_token, users_cli
from app.cli.worker import worker_command

COMMANDS = (
    db_cli,
    worker_command,
    users_cli,
    api_token,
    mt_cli,
    compliance_cli,
    reporter_cli,
    media_cli,
    demo_cli,
    translate_cli,
    routing_cli,
    triage_cli,
)


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
