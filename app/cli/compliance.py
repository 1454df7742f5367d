"""`flask compliance export|review|disclose-employer`: open data, periodic reviews, named employers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func
from sqlmodel import col, select

from app.db import new_session, session_scope
from app.transparency.release import tune_for_release
from casework.audit import record_event
from casework.compliance.anonymize import disclose_employer
from casework.compliance.filters import InvalidFilter, parse_filters
from casework.compliance.opendata import csv_chunks, json_chunks
from casework.compliance.release import Pattern, embargo_month, release
from casework.compliance.review import REVIEW_TARGETS_PATH, load_review_targets, review
from casework.models import ComplianceRecord, Role, StaffUser

compliance_cli = AppGroup("compliance", help="Anonymized compliance reporting and open data.")


def _filters(period: str | None) -> Any:
    try:
        return parse_filters({"period": period} if period else {})
    except InvalidFilter as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None


@compliance_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
@click.option("--period", default=None, help="Closure months YYYY-MM..YYYY-MM (default: all).")
def export(fmt: str, out: Path, period: str | None) -> None:
    """Write the anonymized records (the same release as the public API) to FILE, streaming."""
    filters = _filters(period)
    k = int(current_app.config["COMPLIANCE_K"])
    tmp = out.with_name(out.name + ".partial")
    written = 0
    with new_session() as session, tmp.open("w", encoding="utf-8", newline="") as handle:
        # The bar counts every record before the embargo; withheld ones are passed at the end.
        tune_for_release(session)
        eligible = session.exec(
            select(func.count())
            .select_from(ComplianceRecord)
            .where(col(ComplianceRecord.closed_month) < embargo_month(session, k=k))
        ).one()
        with click.progressbar(length=eligible, label="exporting records", file=sys.stderr, show_pos=True) as bar:

            def counted() -> Iterator[Pattern]:
                nonlocal written
                for row, count in release(session, k=k):
                    bar.update(count)
                    if filters.matches(row):
                        written += count
                        yield row, count

            for chunk in csv_chunks(counted()) if fmt == "csv" else json_chunks(counted()):
                handle.write(chunk)
            bar.update(eligible - bar.pos)
    tmp.replace(out)  # a reader never sees half a file
    click.echo(f"wrote {written} records to {out}")


@compliance_cli.command("review")
@click.option("--period", required=True, help="Closure months under review, YYYY-MM..YYYY-MM.")
@click.option(
    "--targets",
    "targets_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=REVIEW_TARGETS_PATH,
    show_default=True,
    help="YAML file of indicator targets.",
)
def review_command(period: str, targets_path: Path) -> None:
    """Compare the period's indicators with their targets; list those past a revision trigger."""
    filters = _filters(period)
    try:
        targets = load_review_targets(targets_path)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    with session_scope() as session:
        results = review(session, filters, targets, int(current_app.config["COMPLIANCE_K"]))
    click.echo(f"Review of {filters.start} .. {filters.end} (targets: {targets_path.name})")
    click.echo(f"{'indicator':<32}{'value':>10}{'target':>10}{'trigger':>10}{'cases':>8}  status")
    for result in results:
        value = "—" if result.value is None else f"{result.value:.2f}"
        click.echo(
            f"{result.name:<32}{value:>10}{result.target:>10.2f}{result.trigger:>10.2f}"
            f"{result.cases:>8}  {result.status}"
        )
    crossed = [r.name for r in results if r.status == "revision_trigger"]
    click.echo("Revision triggers crossed: " + (", ".join(crossed) if crossed else "none"))


@compliance_cli.command("disclose-employer")
@click.argument("name")
@click.option("--reason", required=True, help="Why it may be named, e.g. 'sanctioned by the labour ministry'.")
@click.option("--admin", "admin_email", required=True, help="E-mail of the approving admin.")
def disclose_employer_command(name: str, reason: str, admin_email: str) -> None:
    """Allow an employer or recruiter to be published by name (only where >= k records share its row)."""
    with session_scope() as session:
        admin = session.exec(select(StaffUser).where(StaffUser.email == admin_email.strip().lower())).first()
        if admin is None or admin.role != Role.ADMIN or not admin.active:
            raise click.ClickException(f"{admin_email} is not an active admin")
        assert admin.id is not None
        disclosure = disclose_employer(session, name=name, reason=reason.strip()[:200], approved_by_id=admin.id)
        record_event(
            session,
            action="employer_disclosed",
            actor_id=admin.id,
            actor_kind="staff",
            pseudonym=disclosure.employer_pseudonym,
        )
    click.echo(f"employer {disclosure.employer_pseudonym} may now be published by name")
