"""Build a tiny but real `.argosmodel` package: a SentencePiece model trained on a few lines and
a CTranslate2 transformer written with ctranslate2's model-spec API, with seeded random weights.

It translates nothing meaningfully (no quality claims); it exercises the real install, load,
tokenize, `translate_batch` and decode path. Same arguments → byte-identical model files.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

TRAINING_LINES = [
    "My employer has not paid my salary for two months.",
    "They took my passport and will not give it back.",
    "I work fourteen hours every day without a rest day.",
    "The agency asked for a large fee before the job.",
    "El patrón no me ha pagado el sueldo de dos meses.",
    "Me quitaron el pasaporte y no me lo devuelven.",
    "Trabajo catorce horas cada día sin descanso.",
    "La agencia me cobró mucho dinero por el trabajo.",
    "Hindi ako binabayaran ng amo ko ng dalawang buwan.",
    "Kinuha nila ang pasaporte ko at ayaw ibalik.",
    "Majikan belum membayar gaji saya selama dua bulan.",
    "Paspor saya ditahan oleh majikan dan agen.",
    "Help us please, we are afraid and have no food or water.",
    "Ayúdenos por favor, tenemos miedo y no hay comida ni agua.",
]


def _train_sentencepiece(vocab_size: int, lines: list[str]) -> bytes:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="bpe",
        character_coverage=1.0,
        hard_vocab_limit=False,
        num_threads=1,
        shuffle_input_sentence=False,
        minloglevel=2,
        bos_id=1,
        eos_id=2,
        unk_id=0,
        pad_id=-1,
    )
    return model.getvalue()


def _resolve(spec: Any, name: str) -> tuple[Any, str]:
    """The layer object holding variable `name` ("decoder/layer_0/ffn/linear_1/weight"), and its attribute."""
    *path, attribute = name.split("/")
    node = spec
    for part in path:
        match = re.fullmatch(r"(.+)_(\d+)", part)
        if match and isinstance(getattr(node, match.group(1), None), list):
            node = getattr(node, match.group(1))[int(match.group(2))]
        else:
            node = getattr(node, part)
    return node, attribute


def _shape(name: str, d_model: int, ffn: int, vocab: int) -> tuple[int, ...]:
    if name.endswith(("gamma", "beta")):
        return (d_model,)
    if "embeddings" in name or name.startswith("decoder/projection"):
        return (vocab, d_model)
    if "/ffn/linear_0" in name:
        return (ffn, d_model)
    if "/ffn/linear_1" in name:
        return (d_model, ffn)
    if "self_attention/linear_0" in name:
        return (3 * d_model, d_model)
    if "/attention/linear_1" in name:  # decoder cross-attention: keys and values fused
        return (2 * d_model, d_model)
    return (d_model, d_model)


def write_ct2_model(
    output_dir: Path,
    vocabulary: list[str],
    seed: int,
    d_model: int = 32,
    ffn: int = 64,
    layers: int = 2,
    heads: int = 2,
) -> None:
    """Write a random-weight CTranslate2 transformer over `vocabulary` to `output_dir`."""
    from ctranslate2.specs import TransformerSpec

    spec = TransformerSpec.from_config(layers, heads)
    rng = np.random.default_rng(seed)
    for name, value in spec.variables(ordered=True):
        if value is not None:
            continue
        node, attribute = _resolve(spec, name)
        shape = _shape(name, d_model, ffn, len(vocabulary))
        if attribute == "gamma":
            array = np.ones(shape, dtype=np.float32)
        elif attribute == "beta":
            array = np.zeros(shape, dtype=np.float32)
        else:
            array = (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)
        setattr(node, attribute, array)
    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    spec.validate()
    spec.optimize(quantization=None)
    output_dir.mkdir(parents=True, exist_ok=True)
    spec.save(str(output_dir))


def build_package(
    destination: Path,
    source: str = "es",
    target: str = "en",
    version: str = "1.0",
    seed: int = 0,
    vocab_size: int = 120,
    d_model: int = 32,
    layers: int = 2,
    training_lines: list[str] | None = None,
) -> Path:
    """Write `<destination>/translate-<source>_<target>-<version>.argosmodel` and return its path.

    `training_lines` (default: a dozen built-in lines) trains the SentencePiece model; more text
    gives a larger vocabulary and realistic token counts (the benchmark uses that).
    """
    import sentencepiece as spm

    destination.mkdir(parents=True, exist_ok=True)
    sp_bytes = _train_sentencepiece(vocab_size, training_lines or TRAINING_LINES)
    processor = spm.SentencePieceProcessor(model_proto=sp_bytes)
    vocabulary = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    top = f"translate-{source}_{target}-{version.replace('.', '_')}"
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / top
        root.mkdir()
        write_ct2_model(root / "model", vocabulary, seed=seed, d_model=d_model, ffn=4 * d_model, layers=layers)
        (root / "sentencepiece.model").write_bytes(sp_bytes)
        (root / "metadata.json").write_text(
            json.dumps(
                {
                    "package_version": version,
                    "argos_version": "1.9",
                    "from_code": source,
                    "to_code": target,
                    "from_name": source,
                    "to_name": target,
                    "type": "translate",
                }
            ),
            encoding="utf-8",
        )
        (root / "README.md").write_text("Tiny random-weight test package built by the Tulay test suite.\n")
        archive = destination / f"{top}.argosmodel"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(root.rglob("*")):
                # A fixed timestamp keeps the archive byte-identical between builds.
                info = zipfile.ZipInfo(
                    str(path.relative_to(scratch)) + ("/" if path.is_dir() else ""), date_time=(2020, 1, 1, 0, 0, 0)
                )
                if path.is_dir():
                    zf.writestr(info, b"")
                else:
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, path.read_bytes())
        shutil.rmtree(root)
    return archive
