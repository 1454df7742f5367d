"""Aggregates over the release for the dashboard and the API, with cell suppression
(complementary suppression as a second guard) so no published cell is under k."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from casework.compliance.filters import Filters
from casework.compliance.release import Pattern, release
from casework.compliance.schema import BAND_ORDER, DEFAULT_K, TABLE_DIMENSIONS


def protect_table(cells: Mapping[str, int], k: int, total: int | None = None) -> dict[str, int | None]:
    """Suppress (None) every cell in 1..k-1, then complementary cells, so nothing is recoverable.

    With a published `total`, the suppressed cells of the table must hold >= k cases together
    and be at least two (else total minus the visible cells gives one of them back); the next
    smallest non-zero cells are suppressed until that holds, or everything is.
    Zero cells are shown: "nobody" discloses nothing about a person.
    """
    protected: dict[str, int | None] = {key: (None if 0 < n < k else n) for key, n in cells.items()}
    if total is None:
        return protected
    if 0 < total < k:
        return dict.fromkeys(cells)

    def hidden() -> list[str]:
        return [key for key, value in protected.items() if value is None and cells[key] > 0]

    while hidden() and (len(hidden()) < 2 or sum(cells[key] for key in hidden()) < k):
        visible = sorted((n, key) for key, n in cells.items() if protected[key] is not None and n > 0)
        if not visible:
            return dict.fromkeys(cells)
        protected[visible[0][1]] = None
    return protected


# --- summaries -------------------------------------------------------------------------------


def median_band(counter: Counter[str], order: list[str]) -> str | None:
    total = sum(counter.values())
    if total == 0:
        return None
    running = 0
    for label in order:
        running += counter.get(label, 0)
        if running * 2 >= total:
            return label
    return None


def summarize(
    session: Session | None,
    filters: Filters,
    k: int = DEFAULT_K,
    *,
    now: datetime | None = None,
    patterns: Iterable[Pattern] | None = None,
) -> dict[str, Any]:
    """The published aggregates behind the dashboard, from the k-anonymous release.

    Every cell is a sum of release patterns (each >= k records), and each table is then
    cell-suppressed with complementary suppression; a suppressed cell is `None`.
    `patterns` is the release already read (e.g. from a cache); else it is read from `session`.
    """
    total = 0
    tables: dict[str, Counter[str]] = {name: Counter() for name in TABLE_DIMENSIONS}
    remedies: Counter[str] = Counter()
    amounts: Counter[str] = Counter()
    months: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    known: Counter[str] = Counter()
    if patterns is None:
        if session is None:
            raise TypeError("summarize needs a session or the release's patterns")
        patterns = release(session, k=k, now=now)
    for row, count in patterns:
        if not filters.matches(row):
            continue
        total += count
        for name in TABLE_DIMENSIONS:
            tables[name][row[name] if row[name] is not None else "not_published"] += count
        if row["remedies"] is not None:
            known["remedies"] += count
            for remedy in row["remedies"]:
                remedies[remedy] += count
        if row["amount_band"] is not None and row["currency"] is not None:
            amounts[f"{row['currency']} {row['amount_band']}"] += count
        months[row["closed_month"] or "not_published"] += count
        for flag in ("inspection_requested", "sanction_reported"):
            if row[flag] is not None:
                known[flag] += count
                flags[flag] += count if row[flag] else 0
    published_total = None if 0 < total < k else total
    summary: dict[str, Any] = {
        "k": k,
        "period": {"start": filters.start, "end": filters.end},
        "filters": dict(filters.dimensions),
        "total_cases": published_total,
        "by": {name: protect_table(tables[name], k, total) for name in TABLE_DIMENSIONS},
        # A case can have several remedies (no total to subtract from): primary suppression only.
        "remedies": protect_table(remedies, k),
        "amounts_recovered": protect_table(amounts, k),
        "monthly": dict(sorted(protect_table(months, k, total).items())),
        "inspection_requested": _flag_cells(flags["inspection_requested"], known["inspection_requested"], total, k),
        "sanction_reported": _flag_cells(flags["sanction_reported"], known["sanction_reported"], total, k),
        "median_days_to_first_response_band": _published_median(
            tables["days_to_first_response_band"], "days_to_first_response_band", k
        ),
        "median_days_to_remedy_band": _published_median(tables["days_to_remedy_band"], "days_to_remedy_band", k),
    }
    return summary


def _flag_cells(yes: int, known: int, total: int, k: int) -> dict[str, int | None]:
    """yes / no over the rows that publish the flag, and `not_published` for the rows that don't.

    Where some rows don't publish the flag (generalized away), a yes or no of 0 would be false:
    those rows may hold any number of them. Such a cell is None (not published), never 0.
    """
    cells = {"yes": yes, "no": known - yes}
    if total > known:
        cells["not_published"] = total - known
    protected = protect_table(cells, k, total)
    if total > known:
        protected.update({key: None for key in ("yes", "no") if cells[key] == 0})
    return protected


def _published_median(counter: Counter[str], band_name: str, k: int) -> str | None:
    measured = Counter({label: n for label, n in counter.items() if label in BAND_ORDER[band_name]})
    if sum(measured.values()) < k:
        return None
    return median_band(measured, BAND_ORDER[band_name])
