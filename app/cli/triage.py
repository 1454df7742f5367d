"""`flask triage accuracy`: automatic triage against what staff made of it, per language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import session_scope
from casework.triage import TriageError, period_bounds, triage_confusion

triage_cli = AppGroup("triage", help="Automatic triage: how it fares in live use.")
SUPPRESSED = "*"


def _share(matrix: Mapping[str, Any], k: int) -> str:
    if matrix["total"] is None:
        return f"fewer than {k} cases: not shown"
    if matrix["accuracy"] is None:
        return f"{matrix['total']} cases; share kept not shown (a cell of the diagonal is suppressed)"
    return f"kept {matrix['kept']} of {matrix['total']} ({matrix['accuracy']:.0%})"


def matrix_lines(name: str, matrix: Mapping[str, Any], k: int) -> list[str]:
    """One confusion matrix as aligned text: rows automatic, columns final."""
    lines = [f"  {name}: {_share(matrix, k)}"]
    labels = list(matrix["labels"])
    if not labels:
        return lines
    corner = "automatic \\ final"
    first = max(len(corner), *(len(label) for label in labels))
    widths = [max(len(label), 3) for label in labels]

    def line(head: str, values: list[str]) -> str:
        return "    " + head.ljust(first) + "".join(f"  {v:>{w}}" for v, w in zip(values, widths, strict=True))

    lines.append(line(corner, labels))
    for row in labels:
        cells = matrix["cells"][row]
        lines.append(line(row, [SUPPRESSED if cells[col] is None else str(cells[col]) for col in labels]))
    return lines


def report_lines(report: Mapping[str, Any], period: str | None) -> list[str]:
    k = report["k"]
    lines = [
        "Triage accuracy: automatic triage (the first of each case) against the final values",
        "(the latest staff correction, or the automatic value where nobody changed it).",
        f"Period: {period + ' (cases first triaged then)' if period else 'all time'}.",
        f"Cells of fewer than {k} cases are suppressed ({SUPPRESSED}), with any cell that the total would give away.",
    ]
    groups = [("all languages", report["overall"]), *report["languages"].items()]
    if not report["overall"]["cases"] and report["overall"]["cases"] is not None:
        return [*lines, "", "No case was triaged in this period." if period else "No case has been triaged yet."]
    for title, group in groups:
        cases = group["cases"]
        lines += ["", f"== {title}: {cases if cases is not None else f'fewer than {k}'} cases"]
        for name in ("category", "urgency"):
            lines += matrix_lines(name, group[name], k)
    return lines


@triage_cli.command("accuracy")
@click.option("--period", default=None, help="Months of first triage, YYYY-MM..YYYY-MM (default: all time).")
def accuracy(period: str | None) -> None:
    """Print, per language and overall, automatic vs staff-corrected category and urgency."""
    try:
        since, until = period_bounds(period) if period else (None, None)
    except TriageError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    with session_scope() as session:
        report = triage_confusion(session, since=since, until=until, k=int(current_app.config["COMPLIANCE_K"]))
    click.echo("\n".join(report_lines(report, period)))
