"""Reporter keywords: STOP / START / HELP (Twilio's conventions), STATUS and a language switch,
in every supported language, matched case- and accent-insensitively.

The lexicon is data (`data/keywords.yaml`). A keyword message never opens a case and never gets
the normal acknowledgement; it gets the keyword's own reply from the gettext catalogs.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

import yaml
from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.cases import find_open_case
from casework.models import Case, ChannelKind, Message, Reporter
from casework.outbox import OPT_OUT_CONFIRMATION, queue_outbound, set_opt_out
from casework.texts import SUPPORTED_LANGUAGES, render_text

LEXICON_PATH = Path(__file__).parent / "data" / "keywords.yaml"
# A language-switch argument longer than this is a sentence, not a language name.
MAX_LANGUAGE_ARGUMENT_WORDS = 2


class Command(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    STATUS = "status"
    LANGUAGE = "language"


@dataclass(frozen=True)
class Keyword:
    """A matched keyword; `languages` are those whose lexicon holds the word (for the reply)."""

    command: Command
    word: str
    languages: frozenset[str]
    target_language: str | None = None  # LANGUAGE only; None when the code/name is unknown


@dataclass(frozen=True)
class Lexicon:
    words: dict[str, tuple[Command, frozenset[str]]]
    language_commands: dict[str, frozenset[str]]
    language_names: dict[str, str]
    provider_handled: dict[str, frozenset[str]]


def fold(text: str) -> str:
    """Fold case, accents and combining marks, trim punctuation/emoji at the ends, squeeze spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    bare = unicodedata.normalize("NFC", bare.replace("đ", "d"))  # Vietnamese đ has no decomposition
    words = bare.split()
    joined = " ".join(words)
    start, end = 0, len(joined)
    while start < end and unicodedata.category(joined[start])[0] in "PSZC":
        start += 1
    while end > start and unicodedata.category(joined[end - 1])[0] in "PSZC":
        end -= 1
    return joined[start:end]


@cache
def lexicon() -> Lexicon:
    data = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8"))
    words: dict[str, tuple[Command, set[str]]] = {}
    for command_name, per_language in data["commands"].items():
        command = Command(command_name)
        for language, entries in per_language.items():
            for entry in entries:
                key = fold(str(entry))
                known = words.setdefault(key, (command, set()))
                if known[0] is not command:
                    raise ValueError(f"keyword {entry!r} is listed for both {known[0]} and {command}")
                known[1].add(language)
    language_commands: dict[str, set[str]] = {}
    for language, entries in data["language_commands"].items():
        for entry in entries:
            language_commands.setdefault(fold(str(entry)), set()).add(language)
    names = {fold(str(entry)): code for code, entries in data["language_names"].items() for entry in entries}
    if set(names.values()) != set(SUPPORTED_LANGUAGES):
        raise ValueError("keywords.yaml language_names must cover exactly the supported languages")
    return Lexicon(
        words={k: (c, frozenset(langs)) for k, (c, langs) in words.items()},
        language_commands={k: frozenset(v) for k, v in language_commands.items()},
        language_names=names,
        provider_handled={
            channel: frozenset(fold(str(w)) for w in entries) for channel, entries in data["provider_handled"].items()
        },
    )


def match_keyword(text: str) -> Keyword | None:
    """The keyword `text` is, if the whole message is one; None for anything else."""
    folded = fold(text)
    if not folded or len(folded) > 64:
        return None
    lex = lexicon()
    if folded in lex.words:
        command, languages = lex.words[folded]
        return Keyword(command=command, word=folded, languages=languages)
    # The language switch: a command word (one or two words long), then a language code or name.
    words = folded.split(" ")
    for split in (1, 2):
        head, argument = " ".join(words[:split]), " ".join(words[split:])
        if head not in lex.language_commands:
            continue
        languages = lex.language_commands[head]
        if not argument:
            return Keyword(command=Command.LANGUAGE, word=head, languages=languages)
        if argument in lex.language_names:
            return Keyword(
                command=Command.LANGUAGE, word=head, languages=languages, target_language=lex.language_names[argument]
            )
        if len(argument.split(" ")) <= MAX_LANGUAGE_ARGUMENT_WORDS and len(argument) <= 16:
            return Keyword(command=Command.LANGUAGE, word=head, languages=languages)  # unknown language
    return None  # e.g. "bahasa saya tidak dimengerti…": a sentence that starts like a command


def latest_case(session: Session, reporter_id: int) -> Case | None:
    statement = select(Case).where(Case.reporter_id == reporter_id).order_by(col(Case.created_at).desc()).limit(1)
    return session.exec(statement).first()


def inferred_language(keyword: Keyword) -> str | None:
    """The reporter's language, if the word they used belongs to exactly one ("DETENER": Spanish).

    English words tell us nothing: our texts advertise STOP, HELP, STATUS and LANG in English
    in every language. The language command's own word neither: its argument decides.
    """
    if keyword.command is Command.LANGUAGE or len(keyword.languages) != 1 or "en" in keyword.languages:
        return None
    return next(iter(keyword.languages))


def handle_keyword(session: Session, message: Message, reporter: Reporter, keyword: Keyword) -> None:
    """Apply `keyword` for `reporter` and queue its reply on the channel it came in on.

    The message is kept (kind "keyword") and attached to the reporter's open case if there is
    one, so staff see it in the history; no case is opened. Does not commit.
    """
    assert reporter.id is not None
    case = find_open_case(session, reporter.id)
    message.kind = "keyword"
    message.case_id = case.id if case is not None else None
    reader_language = inferred_language(keyword)
    if reporter.language is None and reader_language is not None:
        reporter.language = reader_language
    channel = ChannelKind(message.channel)
    reply: str | None = None
    if keyword.command is Command.STOP:
        # Twilio confirms its own opt-out words on SMS (and then refuses our sends); for every
        # other word the one confirmation carriers allow is queued before the opt-out lands.
        if keyword.word not in lexicon().provider_handled.get(channel.value, frozenset()):
            queue_outbound(
                session,
                reporter=reporter,
                case=case,
                body=render_text("stopped", reporter.language),
                kind=OPT_OUT_CONFIRMATION,
                channel=channel,
            )
        set_opt_out(session, reporter, True, source="keyword")
    elif keyword.command is Command.START:
        set_opt_out(session, reporter, False, source="keyword")
        reply = render_text("started", reporter.language)
    elif keyword.command is Command.HELP:
        reply = render_text("help", reporter.language)
    elif keyword.command is Command.STATUS:
        current = case or latest_case(session, reporter.id)
        reply = (
            render_text("status", reporter.language, reference=current.reference, status=str(current.status))
            if current is not None
            else render_text("status_none", reporter.language)
        )
    elif keyword.target_language is not None:
        reporter.language = keyword.target_language
        reply = render_text("language_switched", reporter.language)
    else:
        reply = render_text("language_unknown", reporter.language)
    if reply is not None:
        queue_outbound(
            session, reporter=reporter, case=case, body=reply, kind=f"keyword_{keyword.command}", channel=channel
        )
    session.add(reporter)
    record_event(
        session,
        action="keyword_received",
        case_id=message.case_id,
        actor_kind="reporter",
        message_id=message.id,
        keyword=str(keyword.command),
        channel=channel.value,
    )
