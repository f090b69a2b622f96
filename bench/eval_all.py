"""Run `lore eval retrieval` on every shared retrieval set in all three modes and print one table.

    python bench/eval_all.py [--data ../shared/data] [--sets cranfield scifact ...]

Each set is ingested once into bench/results/data/<set>/ and reused by the three modes (re-ingesting an
unchanged corpus costs no embedding). Results also go to bench/results/eval.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
MODES = ("keyword", "vector", "hybrid")
DEFAULT_SETS = ["cranfield", "scifact", "stackfaq"] + [
    f"xquad/{lang}" for lang in ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
]


def evaluate(data: Path, name: str, mode: str) -> dict[str, object]:
    data_dir = RESULTS / "data" / name.replace("/", "-")
    command = [
        sys.executable,
        "-m",
        "lore",
        "eval",
        "retrieval",
        str(data / name),
        "--mode",
        mode,
        "--json",
        "--data-dir",
        str(data_dir),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result: dict[str, object] = json.loads(output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument("--sets", nargs="+", default=DEFAULT_SETS)
    args = parser.parse_args()
    rows = []
    print(
        "| set | keyword | vector | hybrid | hybrid − best single | hybrid R@100 | MRR@10 | p50 ms | p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.sets:
        results = {mode: evaluate(args.data, name, mode) for mode in MODES}
        rows.append(results)
        ndcg = {mode: float(str(results[mode]["ndcg_at_10"])) for mode in MODES}
        hybrid = results["hybrid"]
        delta = ndcg["hybrid"] - max(ndcg["keyword"], ndcg["vector"])
        print(
            f"| {name} | {ndcg['keyword']:.4f} | {ndcg['vector']:.4f} | {ndcg['hybrid']:.4f} | {delta:+.4f} | "
            f"{hybrid['recall_at_100']} | {hybrid['mrr_at_10']} | {hybrid['latency_ms_p50']} | "
            f"{hybrid['latency_ms_p99']} |",
            flush=True,
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "eval.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
