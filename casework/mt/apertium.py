"""Debian's Apertium (rule-based, offline) through its `apertium` command.

Many texts go through one process call: each text is split into lines, all lines of the batch
are sent at once (Apertium's plain-text mode keeps one output line per input line), and the
texts are rebuilt from them. A line count that doesn't match raises instead of misaligning.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

ENGINE_NAME = "apertium"
# Apertium mode names (ISO 639-3) ↔ our ISO 639-1 codes.
ISO3 = {
    "en": "eng",
    "es": "spa",
    "fr": "fra",
    "pt": "por",
    "ru": "rus",
    "uk": "ukr",
    "id": "ind",
    "hi": "hin",
    "ur": "urd",
    "ar": "ara",
    "sw": "swa",
    "tl": "tgl",
    "vi": "vie",
    "bn": "ben",
    "ne": "nep",
    "my": "mya",
    "am": "amh",
    "zh": "zho",
}
TIMEOUT_SECONDS = 120


class ApertiumError(RuntimeError):
    """The apertium command failed or answered something we cannot align."""


def installed_modes(binary: str = "apertium") -> set[str]:
    """Mode names (e.g. "spa-eng") the installed Apertium offers; empty when it is absent."""
    path = shutil.which(binary)
    if path is None:
        return set()
    try:
        listing = subprocess.run([path, "-l"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return set()
    return {line.strip() for line in listing.splitlines() if line.strip()}


def _version(mode: str) -> str:
    """The Debian package version of the language data behind `mode`, for provenance."""
    source, target = mode.split("-")[:2]
    for package in (f"apertium-{source}-{target}", f"apertium-{target}-{source}"):
        status = Path("/var/lib/dpkg/status")
        if not status.is_file():
            break
        block = status.read_text(encoding="utf-8", errors="replace").split(f"Package: {package}\n", 1)
        if len(block) == 2:
            for line in block[1].splitlines():
                if line.startswith("Version: "):
                    return f"{package}@{line[len('Version: ') :]}"
                if not line:
                    break
    return mode


class ApertiumEngine:
    """Translate with the `apertium` command for each installed mode between our languages."""

    name = ENGINE_NAME

    def __init__(self, modes: set[str] | None = None, binary: str = "apertium") -> None:
        self.binary = shutil.which(binary) or binary
        available = installed_modes(binary) if modes is None else modes
        by_iso3 = {v: k for k, v in ISO3.items()}
        self._modes: dict[tuple[str, str], str] = {}
        for mode in available:
            parts = mode.split("-")
            if len(parts) == 2 and parts[0] in by_iso3 and parts[1] in by_iso3:
                self._modes[(by_iso3[parts[0]], by_iso3[parts[1]])] = mode
        self._versions = {pair: _version(mode) for pair, mode in self._modes.items()}

    def pairs(self) -> set[tuple[str, str]]:
        return set(self._modes)

    def model_version(self, source: str, target: str) -> str:
        return self._versions[(source, target)]

    def load(self) -> None:
        """Nothing to preload: each batch is one short-lived process."""

    def translate_lines(self, lines: Sequence[str], source: str, target: str) -> list[str]:
        """Translate single-line strings in one `apertium` call (unknown words unmarked: -u)."""
        if not lines:
            return []
        if any("\n" in line for line in lines):
            raise ValueError("translate_lines takes single lines")
        mode = self._modes[(source, target)]
        try:
            done = subprocess.run(
                [self.binary, "-u", mode],
                input="\n".join(lines) + "\n",
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            raise ApertiumError(f"apertium {mode} did not run: {exc}") from None
        if done.returncode != 0:
            raise ApertiumError(f"apertium {mode} exited with {done.returncode}")
        output = done.stdout.split("\n")
        if output and output[-1] == "":
            output.pop()
        if len(output) != len(lines):
            raise ApertiumError(f"apertium {mode} returned {len(output)} lines for {len(lines)}")
        return [line.strip() for line in output]

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        split = [text.split("\n") for text in texts]
        flat = [line for lines in split for line in lines]
        translated = iter(self.translate_lines(flat, source, target))
        return ["\n".join(next(translated) for _ in lines) for lines in split]
