"""Language-ID accuracy per language on the labelled SMS set and on FLORES-200 devtest lines.

Run: .venv/bin/python -m bench.langid [--flores-lines 200] [--chars 60]
FLORES has no Urdu file; the SMS set covers all 18 languages.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from pathlib import Path

from casework.language import detect_language, preload

ROOT = Path(__file__).resolve().parent
SMS_SET = ROOT / "data" / "sms_langid.tsv"
FLORES_DIR = Path("/work/shared/eval/flores200-devtest")
FLORES_CODES = {
    "eng_Latn": "en",
    "spa_Latn": "es",
    "fra_Latn": "fr",
    "por_Latn": "pt",
    "arb_Arab": "ar",
    "hin_Deva": "hi",
    "ben_Beng": "bn",
    "npi_Deva": "ne",
    "tgl_Latn": "tl",
    "ind_Latn": "id",
    "vie_Latn": "vi",
    "mya_Mymr": "my",
    "amh_Ethi": "am",
    "swh_Latn": "sw",
    "rus_Cyrl": "ru",
    "ukr_Cyrl": "uk",
    "zho_Hans": "zh",
}


def load_sms(path: Path = SMS_SET) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            code, text = line.split("\t", 1)
            rows.append((code, text))
    return rows


def load_flores(directory: Path, lines: int, chars: int) -> list[tuple[str, str]]:
    rows = []
    for name, code in FLORES_CODES.items():
        path = directory / f"{name}.devtest"
        for text in path.read_text(encoding="utf-8").splitlines()[:lines]:
            rows.append((code, text[:chars]))
    return rows


def score(rows: list[tuple[str, str]]) -> tuple[dict[str, tuple[int, int, int]], Counter[tuple[str, str]], float]:
    """Per language: (correct, reliable-and-correct, total); the confusions; seconds per text."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    confusions: Counter[tuple[str, str]] = Counter()
    started = time.perf_counter()
    for gold, text in rows:
        found = detect_language(text)
        per[gold][2] += 1
        if found.code == gold:
            per[gold][0] += 1
            per[gold][1] += int(found.reliable)
        else:
            confusions[(gold, found.code)] += 1
    elapsed = (time.perf_counter() - started) / max(1, len(rows))
    return {k: (v[0], v[1], v[2]) for k, v in sorted(per.items())}, confusions, elapsed


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    per, confusions, seconds = score(rows)
    correct = sum(c for c, _, _ in per.values())
    total = sum(t for _, _, t in per.values())
    print(f"\n### {title}: {correct}/{total} = {100 * correct / total:.1f}% ({1000 * seconds:.2f} ms per text)\n")
    print("| language | accuracy | marked reliable and right | n |")
    print("|---|---|---|---|")
    for code, (right, reliable, n) in per.items():
        print(f"| {code} | {100 * right / n:.1f}% | {100 * reliable / n:.1f}% | {n} |")
    if confusions:
        print(
            "\nconfusions (gold→found x n): " + ", ".join(f"{g}→{f} x{n}" for (g, f), n in confusions.most_common(12))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flores-dir", type=Path, default=FLORES_DIR)
    parser.add_argument("--flores-lines", type=int, default=200, help="lines per language (max 1012)")
    parser.add_argument("--chars", type=int, default=60, help="cut FLORES lines to this many characters")
    args = parser.parse_args()
    started = time.perf_counter()
    preload()
    print(f"model load: {time.perf_counter() - started:.2f} s")
    print_table("SMS-like set (bench/data/sms_langid.tsv)", load_sms())
    if args.flores_dir.is_dir():
        print_table(
            f"FLORES-200 devtest, first {args.flores_lines} lines per language cut to {args.chars} chars",
            load_flores(args.flores_dir, args.flores_lines, args.chars),
        )
    else:
        print(f"\nFLORES not found at {args.flores_dir}; skipped")


if __name__ == "__main__":
    main()
