"""The labelled triage set (tests/data/triage/): its shape, and the behaviour it pins down.

Accuracy figures are bench/triage.py's; these tests assert what must never happen.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from casework.models import Category, Urgency
from casework.texts import SUPPORTED_LANGUAGES
from casework.triage import load_lexicon, triage_text

DATA = Path(__file__).resolve().parent.parent / "data" / "triage"
LEXICON = load_lexicon()
STYLES = {"plain", "misspelt", "code-mixed", "romanized", "run-on", "hard-negative"}


def labelled(language: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((DATA / f"{language}.yaml").read_text(encoding="utf-8"))
    assert data["language"] == language
    return list(data["messages"])


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_each_language_has_a_labelled_set_of_at_least_40_with_both_splits(language: str) -> None:
    messages = labelled(language)
    assert len(messages) >= 40
    assert len({m["id"] for m in messages}) == len(messages)
    splits = Counter(m["split"] for m in messages)
    assert set(splits) == {"tune", "held_out"} and splits["held_out"] >= 10
    for message in messages:
        assert message["text"].strip(), message["id"]
        assert Category(message["category"]) and Urgency(message["urgency"]), message["id"]
        assert message["style"] in STYLES, message["id"]
        unknown = set(message.get("indicators") or []) - set(LEXICON.indicator_names)
        assert not unknown, (message["id"], unknown)
    assert any(m["style"] == "hard-negative" for m in messages)
    assert any(m["urgency"] == "critical" for m in messages)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_hard_negatives_are_not_triaged_critical(language: str) -> None:
    for message in labelled(language):
        if message["style"] != "hard-negative" or message["urgency"] == "critical":
            continue
        result = triage_text([message["text"]], LEXICON, language=language)
        assert result.urgency is not Urgency.CRITICAL, (message["id"], message["text"], result.indicators)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_critical_messages_of_the_tune_split_are_triaged_critical(language: str) -> None:
    for message in labelled(language):
        if message["split"] != "tune" or message["urgency"] != "critical":
            continue
        result = triage_text([message["text"]], LEXICON, language=language)
        assert result.urgency is Urgency.CRITICAL, (message["id"], message["text"], result.indicators)
