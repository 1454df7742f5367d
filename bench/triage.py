"""Triage accuracy on the labelled set in tests/data/triage/, per language.

    .venv/bin/python bench/triage.py                 # the held-out part (the figures to report)
    .venv/bin/python bench/triage.py --split tune    # the part the rules were written against
    .venv/bin/python bench/triage.py --language ne --show-misses

Prints, per language: category accuracy, urgent (high + critical) recall and precision,
critical recall, and the recall of each danger indicator; then the overall figures, a baseline
measured in the same run (every message "other / normal", what no triage at all gives) and
whether each target is met. Triage reads the original text only, as it must when no machine
translation covers the language.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casework.models import Category, Urgency
from casework.triage import load_lexicon, triage_text

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "triage"
URGENT = {Urgency.HIGH.value, Urgency.CRITICAL.value}
TARGETS = {
    "critical recall": 0.95,
    "urgent recall": 0.90,
    "category accuracy (overall)": 0.85,
    "category accuracy (each language)": 0.75,
}


def load_set(split: str, language: str | None = None) -> list[dict[str, Any]]:
    """The labelled messages of `split` ("held_out", "tune" or "all")."""
    messages = []
    for path in sorted(DATA.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if language and data["language"] != language:
            continue
        for message in data["messages"]:
            if split == "all" or message["split"] == split:
                messages.append({**message, "language": data["language"]})
    return messages


@dataclass
class Tally:
    n: int = 0
    category_right: int = 0
    urgent_true: int = 0
    urgent_found: int = 0
    urgent_hit: int = 0
    critical_true: int = 0
    critical_hit: int = 0
    indicator_true: Counter[str] = field(default_factory=Counter)
    indicator_hit: Counter[str] = field(default_factory=Counter)

    def add(self, expected: dict[str, Any], category: str, urgency: str, indicators: set[str]) -> None:
        self.n += 1
        self.category_right += category == expected["category"]
        truly_urgent, said_urgent = expected["urgency"] in URGENT, urgency in URGENT
        self.urgent_true += truly_urgent
        self.urgent_found += said_urgent
        self.urgent_hit += truly_urgent and said_urgent
        self.critical_true += expected["urgency"] == Urgency.CRITICAL.value
        self.critical_hit += expected["urgency"] == Urgency.CRITICAL.value and urgency == Urgency.CRITICAL.value
        for indicator in expected.get("indicators") or []:
            self.indicator_true[indicator] += 1
            self.indicator_hit[indicator] += indicator in indicators

    @staticmethod
    def ratio(a: int, b: int) -> float | None:
        return None if b == 0 else a / b

    def figures(self) -> dict[str, float | None]:
        return {
            "category": self.ratio(self.category_right, self.n),
            "urgent recall": self.ratio(self.urgent_hit, self.urgent_true),
            "urgent precision": self.ratio(self.urgent_hit, self.urgent_found),
            "critical recall": self.ratio(self.critical_hit, self.critical_true),
        }


def pct(value: float | None) -> str:
    return "   —" if value is None else f"{100 * value:4.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["held_out", "tune", "all"], default="held_out")
    parser.add_argument("--language")
    parser.add_argument("--show-misses", action="store_true", help="print each message triaged wrong")
    args = parser.parse_args()
    lexicon = load_lexicon()
    messages = load_set(args.split, args.language)
    if not messages:
        print(f"no labelled messages for split={args.split} language={args.language}", file=sys.stderr)
        return 2
    tallies: dict[str, Tally] = defaultdict(Tally)
    baseline, overall = Tally(), Tally()
    for message in messages:
        result = triage_text([message["text"]], lexicon, language=message["language"])
        found = set(result.indicators)
        for tally in (tallies[message["language"]], overall):
            tally.add(message, result.category.value, result.urgency.value, found)
        baseline.add(message, Category.OTHER.value, Urgency.NORMAL.value, set())
        wrong = result.category.value != message["category"] or (
            (result.urgency.value in URGENT) != (message["urgency"] in URGENT)
            or (message["urgency"] == "critical") != (result.urgency.value == "critical")
        )
        if args.show_misses and wrong:
            print(
                f"{message['id']}: said {result.category.value}/{result.urgency.value} {sorted(found)}; "
                f"labelled {message['category']}/{message['urgency']} {message.get('indicators')}\n  {message['text']}"
            )
    print(f"\nTriage on the {args.split} split of tests/data/triage ({len(messages)} messages), original text only")
    print(f"{'lang':<6}{'n':>5}{'category %':>12}{'urgent rec %':>14}{'urgent prec %':>15}{'critical rec %':>16}")
    for language in sorted(tallies):
        tally = tallies[language]
        f = tally.figures()
        print(
            f"{language:<6}{tally.n:>5}{pct(f['category']):>12}{pct(f['urgent recall']):>14}"
            f"{pct(f['urgent precision']):>15}{pct(f['critical recall']):>16}"
        )
    f, b = overall.figures(), baseline.figures()
    print(
        f"{'all':<6}{overall.n:>5}{pct(f['category']):>12}{pct(f['urgent recall']):>14}"
        f"{pct(f['urgent precision']):>15}{pct(f['critical recall']):>16}"
    )
    print(
        f"{'base':<6}{baseline.n:>5}{pct(b['category']):>12}{pct(b['urgent recall']):>14}"
        f"{pct(b['urgent precision']):>15}{pct(b['critical recall']):>16}   (everything other/normal)"
    )
    print("\nIndicator recall (all languages):")
    for indicator in sorted(overall.indicator_true):
        hit, true = overall.indicator_hit[indicator], overall.indicator_true[indicator]
        print(f"  {indicator:<34}{hit:>4}/{true:<4}{pct(hit / true):>6} %")
    worst = {
        name: min((t.figures()[key] for t in tallies.values() if t.figures()[key] is not None), default=None)
        for name, key in (
            ("critical recall", "critical recall"),
            ("urgent recall", "urgent recall"),
            ("category accuracy (each language)", "category"),
        )
    }
    checks = {
        "critical recall": worst["critical recall"],
        "urgent recall": worst["urgent recall"],
        "category accuracy (overall)": f["category"],
        "category accuracy (each language)": worst["category accuracy (each language)"],
    }
    print("\nTargets (critical and urgent recall in every language):")
    for name, target in TARGETS.items():
        value = checks[name]
        met = value is not None and value >= target
        print(f"  {name:<36} {pct(value)} % (target {100 * target:.0f} %)  {'met' if met else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
