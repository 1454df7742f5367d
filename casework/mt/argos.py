"""argos-translate packages, installed from local `.argosmodel` files and run on CTranslate2.

A package is a zip holding one folder with `metadata.json`, `model/` (a CTranslate2 model) and
`sentencepiece.model`. We read that format ourselves instead of going through
`argostranslate.translate`: its sentence splitters (Stanza, MiniSBD) try the network on first use,
and its settings are process-wide globals read at import. Nothing here opens a socket.

CTranslate2 translators are not fork-safe (a translator created before `fork()` hangs in the
child), so models load lazily in the process that translates and are reloaded if the process
id changes; the worker runs translation jobs without forking so each model loads once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from casework.mt.segment import reassemble, segment

ENGINE_NAME = "argos"
REQUIRED_FILES = ("metadata.json", "model/model.bin", "sentencepiece.model")
_CODE = re.compile(r"^[a-z]{2,3}$")
# Languages written without spaces between sentences.
NO_SPACE_LANGUAGES = frozenset({"zh", "ja"})


class PackageError(Exception):
    """A package file or folder is not a usable argos package; the message names it."""


@dataclass(frozen=True)
class ArgosPackage:
    """One installed package: a folder under the packages directory."""

    path: Path
    source: str
    target: str
    version: str
    target_prefix: str = ""

    @property
    def pair(self) -> tuple[str, str]:
        return self.source, self.target

    @classmethod
    def from_folder(cls, folder: Path) -> ArgosPackage:
        """Read and check a package folder's metadata. Raises PackageError."""
        for name in REQUIRED_FILES:
            if not (folder / name).is_file():
                raise PackageError(f"{folder.name}: missing {name}")
        try:
            metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise PackageError(f"{folder.name}: metadata.json is not valid JSON ({exc})") from None
        if not isinstance(metadata, dict):
            raise PackageError(f"{folder.name}: metadata.json is not an object")
        source, target = metadata.get("from_code"), metadata.get("to_code")
        if not (isinstance(source, str) and _CODE.match(source) and isinstance(target, str) and _CODE.match(target)):
            raise PackageError(f"{folder.name}: metadata.json needs from_code and to_code language codes")
        if metadata.get("type", "translate") != "translate":
            raise PackageError(f"{folder.name}: package type {metadata.get('type')!r} is not a translation")
        version = str(metadata.get("package_version") or "0")
        return cls(
            path=folder,
            source=source,
            target=target,
            version=version,
            target_prefix=str(metadata.get("target_prefix") or ""),
        )


def installed_packages(packages_dir: Path) -> list[ArgosPackage]:
    """Packages installed under `packages_dir` (unreadable folders are skipped, not fatal)."""
    if not packages_dir.is_dir():
        return []
    found = []
    for folder in sorted(packages_dir.iterdir()):
        if folder.is_dir() and not folder.name.startswith("."):
            try:
                found.append(ArgosPackage.from_folder(folder))
            except PackageError:
                continue
    return found


def _top_folder(archive: zipfile.ZipFile, label: str) -> str:
    tops = set()
    for name in archive.namelist():
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts:
            raise PackageError(f"{label}: unsafe path {name!r} in archive")
        tops.add(path.parts[0])
    if len(tops) != 1:
        raise PackageError(f"{label}: expected one top-level folder in the archive, found {len(tops)}")
    return tops.pop()


def load_model(
    package: ArgosPackage,
    device: str = "cpu",
    inter_threads: int = 1,
    intra_threads: int = 0,
    compute_type: str = "auto",
) -> tuple[Any, Any]:
    """Load a package's CTranslate2 translator and SentencePiece processor. Raises PackageError."""
    import ctranslate2
    import sentencepiece

    try:
        translator = ctranslate2.Translator(
            str(package.path / "model"),
            device=device,
            compute_type=compute_type,
            inter_threads=inter_threads,
            intra_threads=intra_threads,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise PackageError(f"{package.path.name}: the CTranslate2 model does not load ({exc})") from None
    try:
        processor = sentencepiece.SentencePieceProcessor(model_file=str(package.path / "sentencepiece.model"))
    except (RuntimeError, OSError) as exc:
        raise PackageError(f"{package.path.name}: sentencepiece.model does not load ({exc})") from None
    return translator, processor


def install_package(
    archive_path: Path, packages_dir: Path, progress: Callable[[int], None] | None = None
) -> ArgosPackage:
    """Install one `.argosmodel` file into `packages_dir`, replacing an older copy of the same pair.

    The archive is checked (zip, one folder, metadata, model files) and its model is loaded
    once before it replaces anything, so a corrupt file never breaks a working install.
    `progress` is called with bytes extracted. Raises PackageError naming the file.
    """
    label = archive_path.name
    if not archive_path.is_file():
        raise PackageError(f"{label}: no such file")
    if not zipfile.is_zipfile(archive_path):
        raise PackageError(f"{label}: not an argos package (not a zip archive)")
    packages_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=packages_dir))
    try:
        try:
            with zipfile.ZipFile(archive_path) as archive:
                top = _top_folder(archive, label)
                for member in archive.infolist():
                    archive.extract(member, staging)
                    if progress is not None:
                        progress(member.file_size)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
            raise PackageError(f"{label}: damaged archive ({exc})") from None
        try:
            package = ArgosPackage.from_folder(staging / top)
        except PackageError as exc:
            raise PackageError(f"{label}: {str(exc).split(': ', 1)[-1]}") from None
        try:
            load_model(package)
        except PackageError as exc:
            raise PackageError(f"{label}: {str(exc).split(': ', 1)[-1]}") from None
        final = packages_dir / f"{package.source}_{package.target}"
        retired = packages_dir / f".retired-{package.source}_{package.target}-{os.getpid()}"
        if final.exists():
            final.rename(retired)
        (staging / top).rename(final)
        shutil.rmtree(retired, ignore_errors=True)
        return ArgosPackage.from_folder(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class ArgosEngine:
    """Translate with installed argos packages; one CTranslate2 model per pair, loaded once per process."""

    name = ENGINE_NAME

    def __init__(
        self,
        packages: Sequence[ArgosPackage],
        *,
        beam_size: int = 4,
        max_batch_size: int = 32,
        device: str = "cpu",
        inter_threads: int = 1,
        intra_threads: int = 0,
        compute_type: str = "auto",
        max_decoding_length: int = 256,
    ) -> None:
        self.packages = {p.pair: p for p in packages}
        # argos-translate's own defaults (beam 4, length penalty 0.2), so quality matches it.
        self.beam_size = beam_size
        self.max_batch_size = max_batch_size
        self.max_decoding_length = max_decoding_length  # CTranslate2's default; tests lower it
        self._options: dict[str, Any] = {
            "device": device,
            "inter_threads": inter_threads,
            "intra_threads": intra_threads,
            "compute_type": compute_type,
        }
        self._models: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def pairs(self) -> set[tuple[str, str]]:
        return set(self.packages)

    def model_version(self, source: str, target: str) -> str:
        return f"{source}-{target}@{self.packages[(source, target)].version}"

    def _model(self, source: str, target: str) -> tuple[Any, Any]:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's translators would hang here
                self._models, self._pid = {}, os.getpid()
            if (source, target) not in self._models:
                self._models[(source, target)] = load_model(self.packages[(source, target)], **self._options)
            return self._models[(source, target)]

    def load(self) -> None:
        """Load every installed model now (in the process that will translate)."""
        for source, target in self.packages:
            self._model(source, target)

    @property
    def loaded_pairs(self) -> set[tuple[str, str]]:
        return set(self._models) if self._pid == os.getpid() else set()

    def translate_sentences(self, sentences: Sequence[str], source: str, target: str) -> list[str]:
        """Translate already-split sentences in one batched CTranslate2 call."""
        if not sentences:
            return []
        translator, processor = self._model(source, target)
        prefix = self.packages[(source, target)].target_prefix
        tokens = processor.encode(list(sentences), out_type=str)
        results = translator.translate_batch(
            tokens,
            target_prefix=[[prefix]] * len(tokens) if prefix else None,
            beam_size=self.beam_size,
            max_batch_size=self.max_batch_size,
            max_decoding_length=self.max_decoding_length,
            length_penalty=0.2,
            replace_unknowns=True,
        )
        outputs = []
        for result in results:
            pieces = result.hypotheses[0]
            if prefix and pieces[:1] == [prefix]:
                pieces = pieces[1:]
            outputs.append(processor.decode(pieces))
        return outputs

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        layouts = [segment(text) for text in texts]
        sentences = [s for layout in layouts for part in layout if isinstance(part, list) for s in part]
        translated = self.translate_sentences(sentences, source, target)
        joiner = "" if target in NO_SPACE_LANGUAGES else " "
        outputs, position = [], 0
        for layout in layouts:
            count = sum(len(part) for part in layout if isinstance(part, list))
            outputs.append(reassemble(layout, translated[position : position + count], joiner))
            position += count
        return outputs
