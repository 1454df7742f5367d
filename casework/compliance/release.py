"""The k-anonymous release: every published row pattern is shared by at least k records.

Records are released at the first generalization level (`schema.LEVELS`) at which their
pattern occurs >= k times; the rest are withheld. The current month is embargoed.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, literal, null, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from casework.compliance.schema import LEVELS, PUBLIC_COLUMNS
from casework.models import ComplianceRecord, EmployerDisclosure, utcnow

# (published row, number of records sharing it)
Pattern = tuple[dict[str, Any], int]


def _column_expression(name: str) -> Any:
    if name == "remedies":  # JSON has no equality operator on PostgreSQL; group by its text
        return cast(ComplianceRecord.remedies, Text)
    if name == "employer":
        return ComplianceRecord.employer_pseudonym
    return getattr(ComplianceRecord, name)


def release_statement(k: int, embargo_month: str) -> Any:
    """SQL for the release: (level, published columns…, count), one row per pattern with count >= k.

    Only months before `embargo_month` are included, so a single closure never shows up on
    its own between two downloads.
    """
    base = (
        sa_select(*[_column_expression(c).label(c) for c in PUBLIC_COLUMNS])
        .where(col(ComplianceRecord.closed_month) < embargo_month)
        .subquery("base")
    )
    level_ctes = []
    source: Any = base
    for number, columns in enumerate(LEVELS):
        count = func.count() if number == 0 else func.sum(source.c.n)
        grouped = sa_select(*[source.c[c] for c in columns], count.label("n")).group_by(*[source.c[c] for c in columns])
        if number > 0:
            grouped = grouped.where(source.c.n < k)
        cte = grouped.cte(f"level{number}")
        level_ctes.append(cte)
        source = cte
    parts = []
    for number, (columns, cte) in enumerate(zip(LEVELS, level_ctes, strict=True)):
        parts.append(
            sa_select(
                literal(number).label("level"),
                *[(cte.c[c] if c in columns else null()).label(c) for c in PUBLIC_COLUMNS],
                cte.c.n.label("n"),
            ).where(cte.c.n >= k)
        )
    released = union_all(*parts).subquery("released")
    return sa_select(released).order_by(*[released.c[c] for c in ("level", *PUBLIC_COLUMNS)])


def embargo_month(now: datetime | None = None) -> str:
    """The first month not yet published: the current (incomplete) month."""
    return (now or utcnow()).strftime("%Y-%m")


def release(
    session: Session, *, k: int, now: datetime | None = None, disclosed: Mapping[str, str] | None = None
) -> Generator[Pattern, None, None]:
    """Yield (published row, number of records sharing it), streaming from the database."""
    names = disclosed if disclosed is not None else disclosed_employers(session)
    # A server-side cursor on PostgreSQL: rows arrive in batches, never all in memory.
    result = session.execute(
        release_statement(k, embargo_month(now)), execution_options={"stream_results": True, "yield_per": 2000}
    )
    try:
        for db_row in result:
            row = {c: getattr(db_row, c) for c in PUBLIC_COLUMNS}
            row["remedies"] = json.loads(row["remedies"]) if row["remedies"] is not None else None
            for flag in ("inspection_requested", "sanction_reported"):
                row[flag] = None if row[flag] is None else bool(row[flag])
            if row["employer"] is not None:
                row["employer"] = names.get(row["employer"], row["employer"])
            yield row, int(db_row.n)
    finally:
        result.close()  # a reader that stops early (one page) frees the cursor at once


def disclosed_employers(session: Session) -> dict[str, str]:
    rows = session.exec(select(EmployerDisclosure.employer_pseudonym, EmployerDisclosure.public_name)).all()
    return dict(rows)
