"""MT benchmark: (1) quality (sacrebleu chrF and BLEU) of every installed engine and pair, both
directions, on FLORES-200 devtest and Tatoeba; (2) speed and peak RSS of the argos path (our
service vs plain per-sentence argostranslate vs bare CTranslate2) and of Apertium (our batched
service vs one process per sentence).

Run: .venv/bin/python -m bench.translate [--tatoeba-lines 2000] [--speed-sentences 200]
     [--argos-dir DIR]   (installed packages to measure; default: a tiny random-weight package
                          built here, measured for speed only: its translations mean nothing)
Each speed variant runs in its own process so its peak RSS is its own. Nothing touches the network.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL = Path(os.environ.get("TULAY_EVAL_DIR", "/work/shared/eval"))  # FLORES-200 + Tatoeba, see README
FLORES = {
    "en": "eng_Latn",
    "es": "spa_Latn",
    "fr": "fra_Latn",
    "pt": "por_Latn",
    "ar": "arb_Arab",
    "hi": "hin_Deva",
    "bn": "ben_Beng",
    "ne": "npi_Deva",
    "tl": "tgl_Latn",
    "id": "ind_Latn",
    "vi": "vie_Latn",
    "my": "mya_Mymr",
    "am": "amh_Ethi",
    "sw": "swh_Latn",
    "ru": "rus_Cyrl",
    "uk": "ukr_Cyrl",
    "zh": "zho_Hans",
}
ISO3 = {
    "en": "eng",
    "es": "spa",
    "fr": "fra",
    "pt": "por",
    "ar": "ara",
    "hi": "hin",
    "bn": "ben",
    "tl": "tgl",
    "id": "ind",
    "vi": "vie",
    "my": "mya",
    "sw": "swa",
    "ru": "rus",
    "uk": "ukr",
    "zh": "zho",
}


def block_network() -> None:
    """Make any connection attempt in this process fail at once (the benchmark must run offline)."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("network disabled by bench/translate.py")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]


# --- data ---------------------------------------------------------------------------------------


def flores(source: str, target: str, lines: int) -> tuple[list[str], list[str]] | None:
    paths = [EVAL / "flores200-devtest" / f"{FLORES.get(code, '-')}.devtest" for code in (source, target)]
    if not all(p.is_file() for p in paths):
        return None
    src, ref = (p.read_text(encoding="utf-8").splitlines()[:lines] for p in paths)
    return src, ref


def tatoeba(source: str, target: str, lines: int) -> tuple[list[str], list[str]] | None:
    a, b = ISO3.get(source, "-"), ISO3.get(target, "-")
    folder = EVAL / "tatoeba-test-v2021-08-07" / "-".join(sorted((a, b)))
    files = [folder / f"tatoeba-test-v2021-08-07.{code}" for code in (a, b)]
    if not all(f.is_file() for f in files):
        return None
    src, ref = (f.read_text(encoding="utf-8").splitlines()[:lines] for f in files)
    return src, ref


# --- engines --------------------------------------------------------------------------------------


def argos_packages(argos_dir: Path | None, scratch: Path) -> tuple[list[Any], bool]:
    """Installed packages to measure, and whether they are the tiny random test package."""
    from casework.mt.argos import install_package, installed_packages

    if argos_dir is not None:
        return installed_packages(argos_dir), False
    sys.path.insert(0, str(ROOT))
    from tests.argos_package import build_package

    # Tokenizer trained on FLORES lines the speed test doesn't use, for realistic token counts.
    lines = [line for code in ("es", "en") for line in (flores(code, code, 1012) or ([], []))[0][500:]]
    archive = build_package(
        scratch / "archives",
        source="es",
        target="en",
        seed=0,
        vocab_size=4000,
        d_model=64,
        layers=2,
        training_lines=lines,
    )
    return [install_package(archive, scratch / "packages")], True


def quality(args: argparse.Namespace, packages: list[Any], tiny: bool) -> None:
    import sacrebleu

    from casework.mt.apertium import ApertiumEngine
    from casework.mt.argos import ArgosEngine

    engines: list[Any] = [ApertiumEngine()]
    if packages and not tiny:
        engines.append(ArgosEngine(packages))
    print("\n## Quality (sacrebleu; chrF2 and BLEU, default tokenization)\n")
    print("| engine | pair | data set | sentences | chrF | BLEU | seconds |")
    print("|---|---|---|---|---|---|---|")
    for engine in engines:
        for source, target in sorted(engine.pairs()):
            for name, loader, lines in (
                ("FLORES-200 devtest", flores, args.flores_lines),
                ("Tatoeba v2021-08-07", tatoeba, args.tatoeba_lines),
            ):
                data = loader(source, target, lines)
                if data is None:
                    continue
                src, ref = data
                started = time.perf_counter()
                hyp = engine.translate_batch(src, source, target)
                seconds = time.perf_counter() - started
                chrf = sacrebleu.corpus_chrf(hyp, [ref]).score
                bleu = sacrebleu.corpus_bleu(hyp, [ref]).score
                print(
                    f"| {engine.name} | {source}→{target} | {name} | {len(src)} | {chrf:.1f} | {bleu:.1f} | "
                    f"{seconds:.1f} |"
                )
    if tiny:
        print(
            "\nargos: no real package is installed here (none can be downloaded on this machine); the tiny "
            "random-weight package is measured for speed only."
        )


# --- speed (each variant in its own process) -------------------------------------------------------


def speed_variant(
    variant: str, package_dir: Path, sentences: list[str], source: str, target: str, decode_cap: int
) -> dict[str, Any]:
    """Translate `sentences` one way; returns sentences/s, peak RSS and load time.

    `decode_cap` (0: none, i.e. CTranslate2's 256) limits output tokens in every path alike; a
    random model never ends a sentence, so the cap stands in for a real model's output length.
    """
    block_network()
    max_length = decode_cap or 256
    started = time.perf_counter()
    if variant == "service":
        from casework.mt.argos import ArgosEngine, ArgosPackage
        from casework.translation import TranslationService

        engine = ArgosEngine([ArgosPackage.from_folder(package_dir)], max_decoding_length=max_length)
        service = TranslationService([engine])
        service.load()
        loaded = time.perf_counter()
        outputs = [r.text for r in service.translate(sentences, source, target)]
    elif variant == "ctranslate2":
        import ctranslate2
        import sentencepiece

        translator = ctranslate2.Translator(str(package_dir / "model"), device="cpu", inter_threads=1, intra_threads=0)
        processor = sentencepiece.SentencePieceProcessor(model_file=str(package_dir / "sentencepiece.model"))
        loaded = time.perf_counter()
        results = translator.translate_batch(
            processor.encode(sentences, out_type=str),
            beam_size=4,
            max_batch_size=32,
            max_decoding_length=max_length,
            length_penalty=0.2,
            replace_unknowns=True,
        )
        outputs = [processor.decode(r.hypotheses[0]) for r in results]
    elif variant in ("argostranslate", "argostranslate-nosbd"):
        import argostranslate.sbd
        import argostranslate.translate
        import ctranslate2

        if decode_cap:
            # argos has no setting for it: the cap is added to its own translate_batch call.
            original = ctranslate2.Translator.translate_batch

            def capped(self: Any, *args: Any, **kwargs: Any) -> Any:
                return original(self, *args, max_decoding_length=max_length, **kwargs)

            ctranslate2.Translator.translate_batch = capped  # type: ignore[method-assign]

        if variant == "argostranslate-nosbd":
            # MiniSBD fetches its model from the network on first use; give it one sentence per call
            # (the input is already one sentence) so argos's own translate path can be measured.
            argostranslate.sbd.MiniSBDSentencizer.split_sentences = lambda self, text: [text]  # type: ignore
        loaded = time.perf_counter()
        outputs = [argostranslate.translate.translate(s, source, target) for s in sentences]
    else:
        raise SystemExit(f"unknown variant {variant}")
    done = time.perf_counter()
    return {
        "variant": variant,
        "sentences": len(outputs),
        "load_s": loaded - started,
        "sentences_per_s": len(outputs) / (done - loaded),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_variant(
    variant: str, package_dir: Path, count: int, scratch: Path, timeout: int, decode_cap: int
) -> dict[str, Any]:
    env = {
        **os.environ,
        "HOME": str(scratch / "home"),
        "XDG_DATA_HOME": str(scratch / "home" / "data"),
        "XDG_CONFIG_HOME": str(scratch / "home" / "config"),
        "XDG_CACHE_HOME": str(scratch / "home" / "cache"),
        "ARGOS_PACKAGES_DIR": str(package_dir.parent),
        "ARGOS_DEVICE_TYPE": "cpu",
    }
    command = [
        sys.executable,
        "-m",
        "bench.translate",
        "--speed-variant",
        variant,
        "--package",
        str(package_dir),
        "--speed-sentences",
        str(count),
        "--decode-cap",
        str(decode_cap),
    ]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"variant": variant, "error": f"did not finish in {timeout} s"}
    if done.returncode != 0:
        last = [line for line in done.stderr.strip().splitlines() if line.strip()][-1:] or ["no output"]
        return {"variant": variant, "error": last[0][:160]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def speed_sentences(count: int) -> list[str]:
    data = flores("es", "en", count) or ([], [])
    return data[0][:count]


def speed(args: argparse.Namespace, packages: list[Any], tiny: bool, scratch: Path) -> None:
    from casework.mt.apertium import ApertiumEngine

    print("\n## Speed\n")
    if packages:
        package = next((p for p in packages if p.pair == ("es", "en")), packages[0])
        what = (
            "tiny random-weight test package (2+2 layers, d_model 64, 4k vocabulary)"
            if tiny
            else f"package {package.path.name}"
        )
        print(
            f"argos, {package.source}→{package.target}, {what}, {args.speed_sentences} FLORES sentences, "
            "beam 4 (argos's default), one process per row, "
            f"{args.decode_cap or 256} output tokens per sentence:\n"
        )
        print("| path | sentences/s | x per-sentence argos | x bare CTranslate2 | peak RSS MB | load s |")
        print("|---|---|---|---|---|---|")
        rows = [
            run_variant(v, package.path, args.speed_sentences, scratch, args.variant_timeout, args.decode_cap)
            for v in ("service", "argostranslate", "argostranslate-nosbd", "ctranslate2")
        ]
        by_name = {r["variant"]: r for r in rows}
        base = by_name.get("argostranslate-nosbd", {}).get("sentences_per_s")
        plain = by_name.get("argostranslate", {}).get("sentences_per_s") or base
        bare = by_name.get("ctranslate2", {}).get("sentences_per_s")
        labels = {
            "service": "(a) Tulay service (batched, cached)",
            "argostranslate": "(b) argostranslate.translate.translate per sentence",
            "argostranslate-nosbd": "(b') same, MiniSBD splitter bypassed",
            "ctranslate2": "(c) bare CTranslate2 translate_batch",
        }
        for row in rows:
            if "error" in row:
                print(f"| {labels[row['variant']]} | failed offline: {row['error']} | | | | |")
                continue
            rate = row["sentences_per_s"]
            versus_plain = f"{rate / plain:.2f}" if plain else "-"
            versus_bare = f"{rate / bare:.2f}" if bare else "-"
            print(
                f"| {labels[row['variant']]} | {rate:.1f} | {versus_plain} | {versus_bare} | "
                f"{row['peak_rss_mb']:.0f} | {row['load_s']:.2f} |"
            )
    engine = ApertiumEngine()
    if ("es", "en") in engine.pairs():
        sentences = speed_sentences(args.apertium_sentences)
        started = time.perf_counter()
        engine.translate_batch(sentences, "es", "en")
        batched = time.perf_counter() - started
        started = time.perf_counter()
        for sentence in sentences:
            subprocess.run(["apertium", "-u", "spa-eng"], input=sentence, capture_output=True, text=True, check=True)
        single = time.perf_counter() - started
        print(f"\nApertium es→en, {len(sentences)} FLORES sentences:\n")
        print("| path | sentences/s | speed-up |")
        print("|---|---|---|")
        print(
            f"| Tulay service (one `apertium` process per batch) | {len(sentences) / batched:.1f} | "
            f"{single / batched:.1f}x |"
        )
        print(f"| one `apertium` process per sentence | {len(sentences) / single:.1f} | 1.0x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flores-lines", type=int, default=1012)
    parser.add_argument("--tatoeba-lines", type=int, default=2000)
    parser.add_argument("--speed-sentences", type=int, default=40)
    parser.add_argument("--apertium-sentences", type=int, default=100)
    parser.add_argument("--argos-dir", type=Path, default=None, help="folder of installed argos packages")
    parser.add_argument("--variant-timeout", type=int, default=120)
    parser.add_argument(
        "--decode-cap",
        type=int,
        default=0,
        help="cap output tokens in every argos path (a random model never stops by itself)",
    )
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--speed-variant", help=argparse.SUPPRESS)
    parser.add_argument("--package", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.speed_variant:
        package = json.loads((args.package / "metadata.json").read_text())
        result = speed_variant(
            args.speed_variant,
            args.package,
            speed_sentences(args.speed_sentences),
            package["from_code"],
            package["to_code"],
            args.decode_cap,
        )
        print(json.dumps(result))
        return
    block_network()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tulay-bench-") as scratch_name:
        scratch = Path(scratch_name)
        packages, tiny = argos_packages(args.argos_dir, scratch)
        if not args.skip_quality:
            quality(args, packages, tiny)
        speed(args, packages, tiny, scratch)
    elapsed = time.perf_counter() - started
    print(f"\n(total {elapsed:.0f} s; command: python -m bench.translate {' '.join(sys.argv[1:])})")


if __name__ == "__main__":
    main()
