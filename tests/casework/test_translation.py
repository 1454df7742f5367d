"""Translation: argos packages (tiny, real, random-weight) installed from files and run on
CTranslate2; Apertium on real Spanish/English; engine picking, pivot, cache; offline guarantee."""

from __future__ import annotations

import json
import shutil
import socket
import zipfile
from pathlib import Path
from typing import Any

import pytest

import casework.mt.argos as argos_module
from casework.mt.apertium import ApertiumEngine, installed_modes
from casework.mt.argos import ArgosEngine, PackageError, install_package, installed_packages
from casework.mt.segment import reassemble, segment
from casework.translation import TranslationService

Archives = dict[tuple[str, str], Path]
FAST: dict[str, Any] = {"beam_size": 1, "max_decoding_length": 24}  # random weights: keep decoding short
needs_apertium = pytest.mark.skipif(
    "spa-eng" not in installed_modes(), reason="Debian apertium-eng-spa not installed (make system-deps)"
)


def install_all(archives: Archives, folder: Path) -> list[Any]:
    return [install_package(path, folder) for path in archives.values()]


def test_install_from_file_unpacks_checked_package(argos_archives: Archives, tmp_path: Path) -> None:
    progressed: list[int] = []
    package = install_package(argos_archives[("es", "en")], tmp_path, progress=progressed.append)
    assert (package.source, package.target, package.version) == ("es", "en", "1.0")
    assert package.path == tmp_path / "es_en"
    assert (package.path / "model" / "model.bin").is_file()
    assert sum(progressed) > 0
    assert [p.pair for p in installed_packages(tmp_path)] == [("es", "en")]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def _rewrite(archive: Path, out: Path, edit: Any) -> Path:
    """Copy `archive` to `out`, passing each (name, bytes) through `edit` (None drops the member)."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = edit(info.filename, source.read(info))
            if data is not None:
                target.writestr(info.filename, data)
    return out


def _corrupt_model(name: str, data: bytes) -> bytes:
    return data[:200] + b"\x00" * 64 if name.endswith("model.bin") else data


@pytest.mark.parametrize(
    "label, make, message",
    [
        ("not a zip", lambda a, p: (p.write_bytes(b"this is not a model"), p)[1], "not a zip archive"),
        ("truncated zip", lambda a, p: (p.write_bytes(a.read_bytes()[:-4000]), p)[1], "not a zip archive"),
        (
            "missing model",
            lambda a, p: _rewrite(a, p, lambda n, d: None if n.endswith("model.bin") else d),
            "missing model/model.bin",
        ),
        (
            "bad metadata",
            lambda a, p: _rewrite(a, p, lambda n, d: b"{oops" if n.endswith("metadata.json") else d),
            "metadata.json is not valid JSON",
        ),
        (
            "no language codes",
            lambda a, p: _rewrite(
                a, p, lambda n, d: json.dumps({"type": "translate"}).encode() if n.endswith("metadata.json") else d
            ),
            "from_code and to_code",
        ),
        ("corrupt weights", lambda a, p: _rewrite(a, p, _corrupt_model), "CTranslate2 model does not load"),
    ],
)
def test_corrupt_or_wrong_file_is_refused_naming_it_and_keeps_the_old_install(
    argos_archives: Archives, tmp_path: Path, label: str, make: Any, message: str
) -> None:
    packages = tmp_path / "packages"
    good = install_package(argos_archives[("es", "en")], packages)
    bad = make(argos_archives[("es", "en")], tmp_path / "broken.argosmodel")
    with pytest.raises(PackageError) as raised:
        install_package(bad, packages)
    assert str(raised.value).startswith("broken.argosmodel: "), label
    assert message in str(raised.value), label
    assert [p.pair for p in installed_packages(packages)] == [("es", "en")]
    assert (good.path / "model" / "model.bin").is_file()
    assert not [p for p in packages.iterdir() if p.name.startswith(".")]


def test_reinstall_replaces_the_pair_with_the_new_version(argos_archives: Archives, tmp_path: Path) -> None:
    from tests.argos_package import build_package

    install_package(argos_archives[("es", "en")], tmp_path / "packages")
    newer = build_package(tmp_path / "newer", source="es", target="en", version="1.1", seed=7)
    install_package(newer, tmp_path / "packages")
    assert [(p.pair, p.version) for p in installed_packages(tmp_path / "packages")] == [(("es", "en"), "1.1")]


def test_models_load_once_and_are_reused(
    argos_archives: Archives, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packages = install_all(argos_archives, tmp_path)
    loads: list[tuple[str, str]] = []
    real = argos_module.load_model
    monkeypatch.setattr(argos_module, "load_model", lambda p, **kw: (loads.append(p.pair), real(p, **kw))[1])
    engine = ArgosEngine(packages, **FAST)
    service = TranslationService([engine])
    for text in ["El patrón no me paga.", "Trabajo catorce horas.", "Tengo miedo."]:
        service.translate([text], "es", "en")
    assert loads == [("es", "en")]
    assert engine.loaded_pairs == {("es", "en")}
    engine.load()
    assert sorted(loads) == [("en", "es"), ("en", "tl"), ("es", "en")]


def test_translation_is_real_output_of_the_model_and_deterministic(argos_archives: Archives, tmp_path: Path) -> None:
    packages = install_all(argos_archives, tmp_path)
    texts = ["El patrón no me paga.", "Me quitaron el pasaporte. Ayúdenme por favor.\n\nTengo miedo."]
    first = ArgosEngine(packages, **FAST).translate_batch(texts, "es", "en")
    again = ArgosEngine(packages, **FAST).translate_batch(texts, "es", "en")
    assert first == again
    assert all(isinstance(t, str) and t.strip() for t in first)
    assert first[0] != texts[0]  # a random model, but a model: it does not echo its input
    assert first[1].count("\n\n") == 1  # paragraphs survive; sentences were split and rejoined
    # The same sentences through CTranslate2 directly give the same output: nothing is invented.
    direct = ArgosEngine(packages, **FAST).translate_sentences(["El patrón no me paga."], "es", "en")
    assert direct == [first[0]]


def test_pivot_through_english_when_no_direct_pair(argos_archives: Archives, tmp_path: Path) -> None:
    engine = ArgosEngine(install_all(argos_archives, tmp_path), **FAST)
    service = TranslationService([engine])
    assert service.engine_for("es", "tl") is None and service.covers("es", "tl")
    [result] = service.translate(["El patrón no me paga."], "es", "tl")
    middle = engine.translate_batch(["El patrón no me paga."], "es", "en")
    assert result.text == engine.translate_batch(middle, "en", "tl")[0]
    assert (result.engine, result.pivot, result.model_version) == ("argos", "en", "es-en@1.0+en-tl@1.0")
    assert not service.covers("tl", "es")
    assert service.translate(["Tulungan nyo po ako"], "tl", "es")[0].needs_human


class CountingEngine:
    name = "counting"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def pairs(self) -> set[tuple[str, str]]:
        return {("es", "en")}

    def model_version(self, source: str, target: str) -> str:
        return "v1"

    def translate_batch(self, texts: Any, source: str, target: str) -> list[str]:
        self.calls.append(list(texts))
        return [t.upper() for t in texts]


def test_cache_translates_each_distinct_text_once_per_model_version() -> None:
    engine = CountingEngine()
    service = TranslationService([engine])
    out = service.translate(["hola", "adiós", "hola"], "es", "en")
    assert [r.text for r in out] == ["HOLA", "ADIÓS", "HOLA"]
    service.translate(["hola"], "es", "en")
    assert engine.calls == [["hola", "adiós"]]
    engine.model_version = lambda s, t: "v2"  # type: ignore[method-assign]
    service.translate(["hola"], "es", "en")
    assert engine.calls[-1] == ["hola"]


@needs_apertium
def test_apertium_translates_real_spanish_and_english_in_one_call() -> None:
    engine = ApertiumEngine()
    assert {("es", "en"), ("en", "es")} <= engine.pairs()
    assert engine.model_version("es", "en").startswith("apertium-eng-spa@")
    out = engine.translate_batch(["El jefe no me paga.", "Hola.\nMe quitaron el pasaporte."], "es", "en")
    assert out[0] == "The boss does not pay me."
    assert out[1].split("\n")[1].lower().endswith("passport.")
    assert engine.translate_batch(["My boss does not pay me."], "en", "es") == ["Mi jefe no me paga."]


@needs_apertium
def test_engine_order_picks_per_pair(argos_archives: Archives, tmp_path: Path) -> None:
    argos = ArgosEngine(install_all(argos_archives, tmp_path), **FAST)
    apertium = ApertiumEngine()
    assert TranslationService([argos, apertium]).translate(["Hola"], "es", "en")[0].engine == "argos"
    assert TranslationService([apertium, argos]).translate(["Hola"], "es", "en")[0].engine == "apertium"
    # A pivot may join two engines: Apertium es→en, then argos en→tl.
    mixed = TranslationService([apertium, argos]).translate(["El jefe no me paga."], "es", "tl")[0]
    assert (mixed.engine, mixed.pivot) == ("apertium+argos", "en")


def test_nothing_touches_the_network_while_installing_and_translating(
    argos_archives: Archives, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    copy = tmp_path / "offline.argosmodel"
    shutil.copy(argos_archives[("es", "en")], copy)
    package = install_package(copy, tmp_path / "packages")
    engines: list[Any] = [ArgosEngine([package], **FAST)]
    if ("es", "en") in ApertiumEngine().pairs():
        engines.append(ApertiumEngine())
    service = TranslationService(engines)
    service.load()
    assert service.translate(["El patrón no me paga."], "es", "en")[0].text
    if len(engines) == 2:
        assert service.translate(["My boss does not pay me."], "en", "es")[0].text == "Mi jefe no me paga."
    assert attempts == []


@pytest.mark.parametrize(
    "label, text, sentences",
    [
        ("two sentences", "Hola. ¿Qué tal?", [["Hola.", "¿Qué tal?"]]),
        ("paragraphs kept", "Uno.\n\nDos", [["Uno."], "\n\n", ["Dos"]]),
        ("chinese without spaces", "老板不发工资。我很害怕！", [["老板不发工资。", "我很害怕！"]]),  # noqa: RUF001
        ("hindi danda", "पैसे नहीं दिए। मदद करो", [["पैसे नहीं दिए।", "मदद करो"]]),
        (
            "abbreviations and initials",
            "Lo dijo el Dr. Ur y John F. Kennedy. Bien",
            [["Lo dijo el Dr. Ur y John F. Kennedy.", "Bien"]],
        ),
        (
            "decimals and lowercase after a period",
            "Pagan 3.5 dólares, i.e. poco. No!",
            [["Pagan 3.5 dólares, i.e. poco.", "No!"]],
        ),
        ("no letters", "", []),
    ],
)
def test_segmenting_splits_sentences_and_keeps_layout(label: str, text: str, sentences: list[Any]) -> None:
    parts = segment(text)
    assert parts == sentences, label
    flat = [s for p in parts if isinstance(p, list) for s in p]
    assert reassemble(parts, flat, "" if label.startswith("chinese") else " ") == text


def test_overlong_text_is_cut_into_bounded_segments() -> None:
    parts = segment("palabra " * 2000)
    assert all(len(s) <= 400 for s in parts[0])
    assert sum(len(s.split()) for s in parts[0]) == 2000
