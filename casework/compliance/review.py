"""Periodic review: indicators over a period compared with their targets and revision triggers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from casework.compliance.filters import Filters
from casework.compliance.schema import BAND_ORDER, BAND_UPPER_DAYS, DEFAULT_K, REMEDIED_OUTCOMES
from casework.compliance.summary import median_band
from casework.models import ComplianceRecord

REVIEW_TARGETS_PATH = Path(__file__).resolve().parent.parent / "data" / "review_targets.yaml"


@dataclass(frozen=True)
class IndicatorResult:
    name: str
    value: float | None
    target: float
    trigger: float
    higher_is_better: bool
    cases: int

    @property
    def status(self) -> str:
        if self.value is None:
            return "insufficient_data"
        better = (lambda a, b: a >= b) if self.higher_is_better else (lambda a, b: a <= b)
        if better(self.value, self.target):
            return "on_target"
        return "below_target" if better(self.value, self.trigger) else "revision_trigger"


def load_review_targets(path: Path = REVIEW_TARGETS_PATH) -> dict[str, dict[str, Any]]:
    """Read the indicator targets (YAML) and check each has target, trigger and direction."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    indicators = data.get("indicators")
    if not isinstance(indicators, dict) or not indicators:
        raise ValueError(f"{path}: expected a mapping 'indicators'")
    for name, spec in indicators.items():
        if name not in INDICATORS:
            raise ValueError(f"{path}: unknown indicator {name!r}; known: {', '.join(INDICATORS)}")
        if (
            not isinstance(spec, dict)
            or not {"target", "trigger", "direction"} <= set(spec)
            or spec["direction"] not in ("higher", "lower")
        ):
            raise ValueError(f"{path}: indicator {name!r} needs target, trigger and direction (higher|lower)")
    return indicators


# Review indicators are computed from counts grouped in SQL on these columns, so a review
# of a large period never loads the records themselves.
REVIEW_COLUMNS = (
    "resolution_type",
    "inspection_requested",
    "sanction_reported",
    "days_to_first_response_band",
    "days_to_remedy_band",
)
Group = tuple[dict[str, Any], int]


def _share(groups: list[Group], predicate: Any, population: Any = lambda g: True) -> tuple[float | None, int]:
    cases = sum(n for g, n in groups if population(g))
    hits = sum(n for g, n in groups if population(g) and predicate(g))
    return (hits / cases if cases else None), cases


def _median_days(groups: list[Group], band_name: str) -> tuple[float | None, int]:
    counter: Counter[str] = Counter()
    for g, n in groups:
        if g[band_name] is not None:
            counter[g[band_name]] += n
    if not counter:
        return None, 0
    label = median_band(counter, BAND_ORDER[band_name])
    upper = BAND_UPPER_DAYS[band_name].get(label or "")
    # An open-ended band has no upper bound: report its lower bound, the best it can be.
    if upper is None:
        order = BAND_ORDER[band_name]
        previous = order[order.index(label) - 1] if label in order and order.index(label) > 0 else None
        upper = (BAND_UPPER_DAYS[band_name].get(previous) or 0) + 1 if previous else 0
    return float(upper), sum(counter.values())


INDICATORS: dict[str, Any] = {
    "remedy_share": lambda groups: _share(groups, lambda g: g["resolution_type"] in REMEDIED_OUTCOMES),
    "inspection_referral_share": lambda groups: _share(groups, lambda g: g["inspection_requested"]),
    "sanction_share": lambda groups: _share(
        groups, lambda g: g["sanction_reported"], population=lambda g: g["inspection_requested"]
    ),
    "median_days_to_first_response": lambda groups: _median_days(groups, "days_to_first_response_band"),
    "median_days_to_remedy": lambda groups: _median_days(groups, "days_to_remedy_band"),
}


def review(
    session: Session, filters: Filters, targets: Mapping[str, Mapping[str, Any]], k: int = DEFAULT_K
) -> list[IndicatorResult]:
    """Compare each configured indicator over the period with its target and revision trigger.

    An indicator computed on fewer than k cases is reported as insufficient data.
    """
    columns = [getattr(ComplianceRecord, name) for name in REVIEW_COLUMNS]
    statement = sa_select(*columns, func.count()).group_by(*columns)
    if filters.start:
        statement = statement.where(col(ComplianceRecord.closed_month) >= filters.start)
    if filters.end:
        statement = statement.where(col(ComplianceRecord.closed_month) <= filters.end)
    for name, value in filters.dimensions.items():
        statement = statement.where(getattr(ComplianceRecord, name) == value)
    groups = [(dict(zip(REVIEW_COLUMNS, row[:-1], strict=True)), int(row[-1])) for row in session.execute(statement)]
    results = []
    for name, spec in targets.items():
        value, cases = INDICATORS[name](groups)
        results.append(
            IndicatorResult(
                name=name,
                value=None if cases < k else value,
                target=float(spec["target"]),
                trigger=float(spec["trigger"]),
                higher_is_better=spec["direction"] == "higher",
                cases=cases,
            )
        )
    return results
