"""Compare fusion rules on the shared retrieval sets, from candidates computed once.

    python bench/fusion_study.py ../shared/data/cranfield ../shared/data/stackfaq ...

For each query it keeps the union of the vector and keyword top-100 with both scores (exactly what hybrid
search fuses), caches it under bench/results/fusion/, then scores Lore's fusion rule, equal-weight reciprocal-rank fusion
and the two single retrievers by nDCG@10. A rule is good when, on every set, it is at least as good as the better
single retriever.
"""

from __future__ import annotations

import argparse
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lore.backends.embedder.onnx import english_coverage
from lore.config import Settings
from lore.core import fusion
from lore.core.retrieve import SearchRequest
from lore.evaluation.datasets import load_beir
from lore.evaluation.metrics import ndcg_at
from lore.models import DEFAULT_TENANT
from lore.service import Lore

RESULTS = Path(__file__).parent / "results" / "fusion"
DATA = Path(__file__).parent / "results" / "data"  # shared with eval_all.py: each corpus is ingested once
Run = tuple[str, np.ndarray, np.ndarray, list[str]]  # query id, vector scores, keyword scores, doc ids
Rule = Callable[[list[fusion.Candidate], float], np.ndarray]  # candidates, script coverage -> scores


def collect(dataset_dir: Path, depth: int) -> tuple[str, list[Run], dict[str, dict[str, int]]]:
    dataset = load_beir(dataset_dir)
    cache = RESULTS / (dataset.name.replace("/", "-") + ".pkl")
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    with Lore.open(Settings(data_dir=DATA / dataset.name.replace("/", "-"))) as lore:
        lore.add_corpus(dataset.corpus())
        runs = []
        for query_id, text in dataset.queries.items():
            candidates = lore.retriever.candidates(SearchRequest(DEFAULT_TENANT, text), depth)
            chunks = lore.store.documents.get_chunks(DEFAULT_TENANT, [c.chunk_id for c in candidates])
            docs = [str(chunks[c.chunk_id].metadata["record_id"]) for c in candidates]
            vector = np.array([c.vector for c in candidates])
            keyword = np.array([c.keyword for c in candidates])
            runs.append((query_id, vector, keyword, docs))
    result = (dataset.name, runs, dataset.qrels)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(result))
    return result


def ndcg(runs: list[Run], qrels: dict[str, dict[str, int]], queries: dict[str, str], rule: Rule) -> float:
    total = 0.0
    for query_id, vector, keyword, docs in runs:
        if not docs:
            continue
        candidates = [fusion.Candidate(i, v, k) for i, (v, k) in enumerate(zip(vector, keyword, strict=True))]
        order = np.argsort(-rule(candidates, english_coverage(queries[query_id])), kind="stable")
        ranked = list(dict.fromkeys(docs[i] for i in order))
        total += ndcg_at(ranked, qrels[query_id])
    return total / len(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--depth", type=int, default=100)
    args = parser.parse_args()
    rules: dict[str, Rule] = {
        "vector": lambda cs, _: np.array([c.vector for c in cs]),
        "keyword": lambda cs, _: np.array([c.keyword for c in cs]),
        "rrf": lambda cs, _: fusion.reciprocal_rank(cs),
        "lore": fusion.fuse,
    }
    print(f"{'set':<14}" + "".join(f"{name:>12}" for name in rules))
    for directory in args.datasets:
        name, runs, qrels = collect(directory, args.depth)
        queries = load_beir(directory).queries
        scores = [ndcg(runs, qrels, queries, rule) for rule in rules.values()]
        print(f"{name:<14}" + "".join(f"{score:>12.4f}" for score in scores), flush=True)


if __name__ == "__main__":
    main()
