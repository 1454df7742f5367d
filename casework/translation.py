"""Machine translation behind one interface. Engines (argos-translate, Apertium, …) register
in a `TranslationService`, which picks one per language pair, pivots through English where
no direct pair exists, and says honestly when nothing covers a pair (`needs_human`).

Only the interface, the picking, the cache and what the pipeline and console do with
translations live here; engines live beside it in `casework/mt/`. Nothing here commits.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.editing import CaseworkError, check_editable
from casework.language import detect_language
from casework.models import Case, Direction, Message, Reporter, utcnow
from casework.notifications import notify_translation_done
from casework.texts import SUPPORTED_LANGUAGES


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
    """Pick an engine per pair (first registered wins), pivot via English, batch and cache per call.

    The cache is keyed by (text, source, target, engine, model version), so installing a new
    model version never serves an old translation. It lives in process memory only.
    """

    PIVOT = "en"

    def __init__(self, engines: Sequence[TranslationEngine] = (), cache_size: int = 4096) -> None:
        self.engines = list(engines)
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str, str, str, str], str] = OrderedDict()
        self._lock = threading.Lock()
        self.cache_hits = 0

    def engine_for(self, source: str, target: str) -> TranslationEngine | None:
        return next((e for e in self.engines if (source, target) in e.pairs()), None)

    def covers(self, source: str, target: str) -> bool:
        if source == target or self.engine_for(source, target) is not None:
            return True
        return self.engine_for(source, self.PIVOT) is not None and self.engine_for(self.PIVOT, target) is not None

    def pairs(self) -> list[tuple[str, str, str, str]]:
        """Every direct pair as (source, target, engine, model version), the engine in use first."""
        rows = []
        for engine in self.engines:
            for source, target in sorted(engine.pairs()):
                rows.append((source, target, engine.name, engine.model_version(source, target)))
        return rows

    def load(self) -> None:
        """Load every engine's models now, in the process that will translate."""
        for engine in self.engines:
            load = getattr(engine, "load", None)
            if callable(load):
                load()

    def _run(self, engine: TranslationEngine, texts: Sequence[str], source: str, target: str) -> list[str]:
        """Translate through the cache: each distinct uncached text once, in one engine batch."""
        version = engine.model_version(source, target)
        keys = [(text, source, target, engine.name, version) for text in texts]
        with self._lock:
            known = {key: self._cache[key] for key in keys if key in self._cache}
            self.cache_hits += sum(1 for key in keys if key in known)
        missing = list(dict.fromkeys(key for key in keys if key not in known))
        if missing:
            outputs = engine.translate_batch([key[0] for key in missing], source, target)
            if len(outputs) != len(missing):
                raise RuntimeError(f"{engine.name} returned {len(outputs)} translations for {len(missing)} texts")
            fresh = dict(zip(missing, outputs, strict=True))
            known.update(fresh)
            with self._lock:
                self._cache.update(fresh)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [known[key] for key in keys]

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[TranslationResult]:
        """Translate `texts` from `source` to `target`; each result says which engine did it."""
        if source == target:
            return [TranslationResult(text=t, source=source, target=target, engine="identity") for t in texts]
        direct = self.engine_for(source, target)
        if direct is not None:
            version = direct.model_version(source, target)
            return [
                TranslationResult(text=out, source=source, target=target, engine=direct.name, model_version=version)
                for out in self._run(direct, texts, source, target)
            ]
        first = self.engine_for(source, self.PIVOT)
        second = self.engine_for(self.PIVOT, target)
        if first is None or second is None:
            return [TranslationResult(text=None, source=source, target=target) for _ in texts]
        middle = self._run(first, texts, source, self.PIVOT)
        final = self._run(second, middle, self.PIVOT, target)
        name = first.name if first.name == second.name else f"{first.name}+{second.name}"
        version = f"{first.model_version(source, self.PIVOT)}+{second.model_version(self.PIVOT, target)}"
        return [
            TranslationResult(
                text=out, source=source, target=target, engine=name, model_version=version, pivot=self.PIVOT
            )
            for out in final
        ]


# --- what the pipeline and the console do with translations --------------------------------------


def _store(message: Message, result: TranslationResult) -> None:
    if result.needs_human:
        # Never keep an untranslated (or stale) text where a translation is expected.
        message.translation = None
        message.translation_engine = message.translation_model_version = message.translation_pivot = None
        message.translation_language = None
        message.needs_human_translation = True
        return
    message.translation = result.text
    message.translation_language = result.target
    message.translation_engine = result.engine
    message.translation_model_version = result.model_version
    message.translation_pivot = result.pivot
    message.needs_human_translation = False


def detect_and_translate(
    session: Session, message: Message, case: Case, *, translator: TranslationService | None, working_language: str
) -> None:
    """Pipeline step: detect the message's language, translate it to the working language, store both.

    A confident detection also updates the reporter's and the case's language. Where no engine
    covers the language (or none is deployed, or the language is unknown) the message and the
    case are flagged for a human translator. Does not commit.
    """
    reporter = session.get(Reporter, message.reporter_id) if message.reporter_id else None
    known = reporter.language if reporter is not None else None
    text = message.body or ""
    detection = detect_language(text, fallback=message.language or known)
    message.language = None if detection.code == "und" else detection.code
    message.language_confidence = detection.confidence
    if detection.reliable and detection.code in SUPPORTED_LANGUAGES:
        if reporter is not None and reporter.language != detection.code:
            reporter.language = detection.code
        case.language = detection.code
    elif case.language is None and message.language:
        case.language = message.language
    if not any(ch.isalpha() for ch in text):
        # Only numbers, emoji or nothing: there is nothing to translate and nothing for a human to do.
        session.add(message)
        return
    if message.language is None:
        result = TranslationResult(text=None, source="und", target=working_language)
    elif translator is None:
        result = (
            TranslationResult(text=text, source=working_language, target=working_language, engine="identity")
            if message.language == working_language
            else TranslationResult(text=None, source=message.language, target=working_language)
        )
    else:
        result = translator.translate([text], message.language, working_language)[0]
    _store(message, result)
    if result.needs_human:
        case.needs_human_translation = True
    session.add_all([message, case])
    record_event(
        session,
        action="message_translated",
        case_id=case.id,
        message_id=message.id,
        language=message.language,
        detection=detection.method,
        engine=result.engine,
        needs_human=result.needs_human,
    )


def correct_translation(
    session: Session, message: Message, text: str, staff_id: int, language: str | None = None
) -> Message:
    """Replace a message's translation with a staff member's own, keeping who did it and when.

    `language` is the correction's language (default: the translation's, else the working
    language the caller passes). The machine's engine and model version are replaced by
    "human", and the case loses its needs-human-translation flag once no message needs one.
    The audit log records the correction (never the text). Raises ValueError for an empty
    correction. Does not commit.
    """
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("a corrected translation cannot be empty")
    previous_engine = message.translation_engine
    message.translation = cleaned
    message.translation_engine = "human"
    message.translation_model_version = None
    message.translation_pivot = None
    message.translation_corrected_by_id = staff_id
    message.translation_corrected_at = utcnow()
    message.needs_human_translation = False
    message.translation_language = language or message.translation_language
    session.add(message)
    if message.case_id is not None:
        case = session.get_one(Case, message.case_id)
        still_waiting = session.exec(
            select(Message.id).where(
                Message.case_id == case.id, Message.id != message.id, col(Message.needs_human_translation).is_(True)
            )
        ).first()
        if case.needs_human_translation and still_waiting is None:
            case.needs_human_translation = False
            session.add(case)
        notify_translation_done(session, case, message, actor_id=staff_id)
    record_event(
        session,
        action="translation_corrected",
        case_id=message.case_id,
        actor_id=staff_id,
        actor_kind="staff",
        message_id=message.id,
        previous_engine=previous_engine,
    )
    return message


MAX_CORRECTION_LENGTH = 10_000


class InvalidCorrection(CaseworkError):
    """The corrected translation is empty or too long."""


class MessageNotFound(CaseworkError):
    """No message from the reporter with that id on this case."""


def correct_case_message(
    session: Session,
    case: Case,
    message_id: int,
    text: str,
    staff_id: int,
    *,
    working_language: str,
    expected_version: int | None = None,
) -> Message:
    """Correct the translation of one of the reporter's messages on `case`, as a staff edit of the case.

    The case must be open and at `expected_version`; its version goes up, so a second person
    correcting from the same page gets StaleCase instead of silently overwriting the first.
    Raises MessageNotFound, InvalidCorrection, CaseClosed or StaleCase, changing nothing. Does not commit.
    """
    check_editable(case, expected_version)
    message = session.get(Message, message_id)
    if message is None or message.case_id != case.id or message.direction != Direction.INBOUND:
        raise MessageNotFound(f"no message {message_id} from the reporter on case {case.reference}")
    if len(text or "") > MAX_CORRECTION_LENGTH:
        raise InvalidCorrection(f"the corrected translation is longer than {MAX_CORRECTION_LENGTH} characters")
    try:
        correct_translation(session, message, text or "", staff_id, language=working_language)
    except ValueError as exc:
        raise InvalidCorrection(str(exc)) from None
    case.updated_at = utcnow()
    session.add(case)
    return message
