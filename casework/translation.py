"""Machine translation behind one interface. Engines (argos-translate, Apertium, …) register
in a `TranslationService`, which picks one per language pair, pivots through English where
no direct pair exists, and says honestly when nothing covers a pair (`needs_human`).

Only the interface and the picking live here; engines live beside it in `casework/mt/`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TranslationResult:
    """A translation, or an honest "no engine covers this" (text None, needs_human True)."""

    text: str | None
    source: str
    target: str
    engine: str | None = None
    model_version: str | None = None
    pivot: str | None = None

    @property
    def needs_human(self) -> bool:
        return self.text is None


class TranslationEngine(Protocol):
    """One MT engine; `pairs()` lists the (source, target) ISO 639-1 pairs it can do."""

    name: str

    def pairs(self) -> set[tuple[str, str]]: ...

    def model_version(self, source: str, target: str) -> str: ...

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]: ...


class TranslationService:
    """Pick an engine per pair (first registered wins), pivot via English, batch per call."""

    PIVOT = "en"

    def __init__(self, engines: Sequence[TranslationEngine] = ()) -> None:
        self.engines = list(engines)

    def engine_for(self, source: str, target: str) -> TranslationEngine | None:
        return next((e for e in self.engines if (source, target) in e.pairs()), None)

    def covers(self, source: str, target: str) -> bool:
        if source == target or self.engine_for(source, target) is not None:
            return True
        return self.engine_for(source, self.PIVOT) is not None and self.engine_for(self.PIVOT, target) is not None

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[TranslationResult]:
        """Translate `texts` from `source` to `target`; each result says which engine did it."""
        if source == target:
            return [TranslationResult(text=t, source=source, target=target, engine="identity") for t in texts]
        direct = self.engine_for(source, target)
        if direct is not None:
            version = direct.model_version(source, target)
            return [TranslationResult(text=out, source=source, target=target, engine=direct.name,
                                      model_version=version)
                    for out in direct.translate_batch(texts, source, target)]
        first = self.engine_for(source, self.PIVOT)
        second = self.engine_for(self.PIVOT, target)
        if first is None or second is None:
            return [TranslationResult(text=None, source=source, target=target) for _ in texts]
        middle = first.translate_batch(texts, source, self.PIVOT)
        final = second.translate_batch(middle, self.PIVOT, target)
        name = first.name if first.name == second.name else f"{first.name}+{second.name}"
        version = f"{first.model_version(source, self.PIVOT)}+{second.model_version(self.PIVOT, target)}"
        return [TranslationResult(text=out, source=source, target=target, engine=name, model_version=version,
                                  pivot=self.PIVOT) for out in final]
