"""Retrieval evaluation on BEIR-layout data sets: nDCG@10, Recall@100, MRR@10 and query latency."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lore.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class CorpusDoc:
    id: str
    title: str
    text: str


@dataclass(slots=True)
class BeirSet:
    name: str
    corpus_path: Path
    queries: dict[str, str]  # id -> text, only those with judgments
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> grade

    def corpus(self) -> Iterator[CorpusDoc]:
        with self.corpus_path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    row = json.loads(line)
                    yield CorpusDoc(str(row["_id"]), row.get("title") or "", row.get("text") or "")


def load_beir(directory: Path, split: str = "test") -> BeirSet:
    """Read `corpus.jsonl`, `queries.jsonl` and `qrels/<split>.tsv`; only judged queries are kept."""
    paths = [directory / "corpus.jsonl", directory / "queries.jsonl", directory / "qrels" / f"{split}.tsv"]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise InvalidInput(f"not a BEIR-layout data set: missing {', '.join(missing)}")
    qrels: dict[str, dict[str, int]] = {}
    with paths[2].open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(float(row["score"]))
    queries = {}
    with paths[1].open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                if str(row["_id"]) in qrels:
                    queries[str(row["_id"])] = row["text"]
    name = "/".join(directory.resolve().parts[-2:]) if directory.parent.name == "xquad" else directory.name
    return BeirSet(name, paths[0], queries, {q: r for q, r in qrels.items() if q in queries})


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    dcg = sum(grades.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], grades: dict[str, int], k: int = 100) -> float:
    relevant = {d for d, g in grades.items() if g > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    return next((1.0 / (i + 1) for i, d in enumerate(ranked[:k]) if grades.get(d, 0) > 0), 0.0)


def percentile_ms(seconds: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(seconds) * 1000, q)), 2) if seconds else 0.0


def summarise(
    dataset: BeirSet, mode: str, runs: dict[str, list[str]], latencies: list[float], ingest_seconds: float
) -> dict[str, object]:
    """The JSON object `lore eval retrieval` prints (DESIGN.md §4)."""
    n = len(runs) or 1
    return {
        "dataset": dataset.name,
        "mode": mode,
        "queries": len(runs),
        "ndcg_at_10": round(sum(ndcg_at(r, dataset.qrels[q]) for q, r in runs.items()) / n, 4),
        "recall_at_100": round(sum(recall_at(r, dataset.qrels[q]) for q, r in runs.items()) / n, 4),
        "mrr_at_10": round(sum(mrr_at(r, dataset.qrels[q]) for q, r in runs.items()) / n, 4),
        "latency_ms_p50": percentile_ms(latencies, 50),
        "latency_ms_p99": percentile_ms(latencies, 99),
        "ingest_seconds": round(ingest_seconds, 2),
    }
