"""Compare clustering rules for knowledge-gap topics on sets of short questions labelled by topic.

    python bench/gaps_study.py ../shared/data/stackfaq ../shared/data/banking77

StackFAQ: 125 threads, 10 paraphrases each, in two groups of 5 (group 0 tunes the threshold, group 1 reports);
Banking77: 3,080 test utterances of 77 intents (finer than a gap topic: neighbouring intents may merge). Every
question is embedded once with the configured embedder (all-MiniLM-L6-v2), then each rule is scored by
adjusted Rand index, homogeneity (a topic holds one true topic) and completeness (a true topic stays in one),
with the number of clusters found and the seconds the clustering took.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.cluster import HDBSCAN
from sklearn.metrics import adjusted_rand_score, homogeneity_completeness_v_measure

from lore.config import Settings
from lore.intelligence.clustering import cluster
from lore.registry import create_embedder

Labelled = tuple[list[str], list[str]]  # texts, their true topics
Rule = Callable[[np.ndarray], np.ndarray]


def stackfaq(folder: Path, group: int) -> Labelled:
    rows = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines()]
    chosen = [row for row in rows if row["metadata"]["group"] == group]
    return [row["text"] for row in chosen], [str(row["metadata"]["thread"]) for row in chosen]


def banking(folder: Path) -> Labelled:
    with (folder / "test.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["category"] for row in rows]


def linkage_rule(method: str, threshold: float) -> Rule:
    if method == "average":
        return lambda vectors: cluster(vectors, threshold)
    from scipy.cluster.hierarchy import fcluster, linkage

    return lambda vectors: fcluster(
        linkage(vectors.astype(np.float64), method=method, metric="cosine"), t=threshold, criterion="distance"
    )


def hdbscan_rule(min_size: int) -> Rule:
    def run(vectors: np.ndarray) -> np.ndarray:
        labels = HDBSCAN(min_cluster_size=min_size, metric="euclidean", copy=True).fit_predict(vectors)
        # noise points are singletons: each its own topic
        return np.where(labels >= 0, labels, -np.arange(1, len(labels) + 1))

    return run


def rules() -> dict[str, Rule]:
    found: dict[str, Rule] = {}
    for threshold in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        found[f"average@{threshold}"] = linkage_rule("average", threshold)
    for threshold in (0.5, 0.6, 0.7, 0.8):
        found[f"complete@{threshold}"] = linkage_rule("complete", threshold)
    for threshold in (0.2, 0.25, 0.3):
        found[f"single@{threshold}"] = linkage_rule("single", threshold)
    for size in (2, 3, 5):
        found[f"hdbscan(min={size})"] = hdbscan_rule(size)
    return found


def score(name: str, rule: Rule, vectors: np.ndarray, truth: list[str]) -> dict[str, object]:
    start = time.perf_counter()
    labels = rule(vectors)
    seconds = time.perf_counter() - start
    homogeneity, completeness, v_measure = homogeneity_completeness_v_measure(truth, labels)
    return {
        "rule": name,
        "ari": round(float(adjusted_rand_score(truth, labels)), 3),
        "homogeneity": round(float(homogeneity), 3),
        "completeness": round(float(completeness), 3),
        "v": round(float(v_measure), 3),
        "clusters": len(set(labels.tolist())),
        "topics": len(set(truth)),
        "seconds": round(seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stackfaq", type=Path)
    parser.add_argument("banking77", type=Path)
    args = parser.parse_args()
    embedder = create_embedder(Settings(_env_file=None, embed_threads=1))
    sets = {
        "stackfaq/group0 (tuning)": stackfaq(args.stackfaq, 0),
        "stackfaq/group1": stackfaq(args.stackfaq, 1),
        "banking77/test": banking(args.banking77),
    }
    for name, (texts, truth) in sets.items():
        vectors = embedder.embed_queries(texts)
        print(f"\n{name}: {len(texts)} questions, {len(set(truth))} topics")
        for rule_name, rule in rules().items():
            print(json.dumps(score(rule_name, rule, vectors, truth)))


if __name__ == "__main__":
    main()
