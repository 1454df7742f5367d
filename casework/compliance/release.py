"""The k-anonymous release: every published row pattern is shared by at least k records, and
two releases taken at any two times differ in every count by 0 or by at least k.

The publication rule (docs/compliance.md#the-publication-rule):

- **Months in batches.** Ended months are published oldest first, in batches: a batch is the
  shortest run of ended, unpublished months whose closures add up to at least k. Months after
  the last complete batch, the current month always among them, are embargoed
  (`embargo_month`). A month counts as ended `PUBLICATION_DELAY` after its last day.
- **Groups.** Within the published months, records are released at the first generalization
  level (`schema.LEVELS`) at which their pattern occurs >= k times. Every level but the last
  keeps `closed_month`, so its groups lie inside one month; the last (category only) pools
  what is left of all published months, and each of its totals is published rounded down to
  a multiple of k. The rest is withheld.

So once a month is published its groups never change, and a new batch adds groups of >= k
records and moves pooled totals by multiples of k: no count ever moves by 1..k-1.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Text, cast, func, literal, null, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from casework.compliance.schema import LEVELS, PUBLIC_COLUMNS
from casework.models import ComplianceRecord, EmployerDisclosure, utcnow

# (published row, number of records sharing it)
Pattern = tuple[dict[str, Any], int]
# How long after a month ends its last closures may still be recorded (the job runs within
# seconds; the sweeper re-enqueues a lost one within minutes). Only then can the month be published.
PUBLICATION_DELAY = timedelta(days=1)


def _column_expression(name: str) -> Any:
    if name == "remedies":  # JSON has no equality operator on PostgreSQL; group by its text
        return cast(ComplianceRecord.remedies, Text)
    if name == "employer":
        return ComplianceRecord.employer_pseudonym
    return getattr(ComplianceRecord, name)


def release_statement(k: int, embargo_month: str) -> Any:
    """SQL for the release: (level, published columns…, count), one row per pattern with count >= k.

    Only months before `embargo_month` are included (see `embargo_month`). A level without
    `closed_month` pools several months; its counts are rounded down to a multiple of k, so a
    newly published month moves them by 0 or by at least k.
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
        # BIGINT // k is integer division on SQLite and PostgreSQL (whose SUM gives NUMERIC).
        n = cte.c.n if "closed_month" in columns else cast(cte.c.n, BigInteger) // k * k
        parts.append(
            sa_select(
                literal(number).label("level"),
                *[(cte.c[c] if c in columns else null()).label(c) for c in PUBLIC_COLUMNS],
                n.label("n"),
            ).where(cte.c.n >= k)
        )
    released = union_all(*parts).subquery("released")
    return sa_select(released).order_by(*[released.c[c] for c in ("level", *PUBLIC_COLUMNS)])


def current_month(now: datetime | None = None) -> str:
    """The month whose closures may still be coming in (YYYY-MM), and every later one: never published.

    That is the calendar month until `PUBLICATION_DELAY` after it ends, so a closure in a
    month's last minutes, recorded by its job just after midnight, still counts in that month
    before the month is published.
    """
    return ((now or utcnow()) - PUBLICATION_DELAY).strftime("%Y-%m")


def embargo_month(session: Session, *, k: int, now: datetime | None = None) -> str:
    """The first month not published: months before it are published, it and later ones are not.

    Ended months are published oldest first, in batches: each batch is the shortest run of
    ended months after the previous batch whose closures add up to at least k. A run still
    under k waits, with the current month, until later closures bring it to k; so a month with
    a single closure is never published on its own.
    """
    current = current_month(now)
    month = col(ComplianceRecord.closed_month)
    rows = session.execute(sa_select(month, func.count()).where(month < current).group_by(month).order_by(month)).all()
    waiting_since: str | None = None
    waiting = 0
    for closed_month, closures in rows:
        waiting_since = waiting_since or closed_month
        waiting += int(closures)
        if waiting >= k:  # the batch is complete: published
            waiting_since, waiting = None, 0
    return waiting_since or current


def release(
    session: Session, *, k: int, now: datetime | None = None, disclosed: Mapping[str, str] | None = None
) -> Generator[Pattern, None, None]:
    """Yield (published row, number of records sharing it), streaming from the database."""
    names = disclosed if disclosed is not None else disclosed_employers(session)
    # A server-side cursor on PostgreSQL: rows arrive in batches, never all in memory.
    result = session.execute(
        release_statement(k, embargo_month(session, k=k, now=now)),
        execution_options={"stream_results": True, "yield_per": 2000},
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
