"""Keyword search quality and latency of the SQLite store against plain BM25 on BEIR-layout data sets.

    .venv/bin/python bench/keyword_baseline.py ../shared/data/cranfield ../shared/data/xquad/zh

Each corpus document becomes one document (its title) with one chunk (its text) in a fresh `SqliteDatabase`, so
the keyword index holds title + text once, as the chunker's chunks do; vectors are placeholders, since only
keyword search is measured. Every query of `qrels/test.tsv` runs through `keyword_search` with k=100, one at a
time. The reference is BM25 (k1=1.2, b=0.75, lower-cased `\\w+` tokens over title + text) computed here in the
same run, so each line prints the store's nDCG@10 next to the reference's and their ratio. nDCG uses linear
gains (trec_eval, BEIR); graded cranfield's published 0.534 matches exponential gains (2^grade - 1) instead.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lore.backends.store.sqlite import SqliteDatabase
from lore.models import DEFAULT_TENANT, ChunkDraft, DocumentDraft, content_hash

MODEL_ID = "none"  # only keyword search is measured: every chunk gets the same placeholder vector
COLLECTION = "bench"
Ranker = Callable[[str], list[str]]  # query text -> corpus ids, best first


@dataclass(frozen=True)
class Dataset:
    name: str
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> corpus id -> grade


def load(directory: Path) -> Dataset:
    corpus: dict[str, tuple[str, str]] = {}
    for line in (directory / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        corpus[row["_id"]] = (row.get("title") or "", row.get("text") or "")
    queries = {}
    for line in (directory / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        queries[row["_id"]] = row["text"]
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (directory / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        query_id, corpus_id, grade = line.split("\t")
        qrels[query_id][corpus_id] = int(grade)
    name = "/".join(directory.resolve().parts[-2:]) if directory.parent.name == "xquad" else directory.name
    return Dataset(name, corpus, queries, dict(qrels))


def ndcg_at_10(ranking: Sequence[str], grades: Mapping[str, int]) -> float:
    """Graded nDCG@10 with linear gains, as trec_eval and BEIR compute it."""
    dcg = sum(grades.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking[:10]))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:10]
    idcg = sum(grade / math.log2(rank + 2) for rank, grade in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def ingest(store: SqliteDatabase, data: Dataset) -> dict[int, str]:
    """Write every corpus document; returns chunk id -> corpus id."""
    placeholder = np.zeros(4, dtype=np.float32)
    for corpus_id, (title, text) in data.corpus.items():
        chunk = ChunkDraft(0, text, (), len(text.split()), embed_text=f"{title}\n{text}")
        draft = DocumentDraft(DEFAULT_TENANT, COLLECTION, title, corpus_id, text, content_hash(text))
        store.documents.write_document(draft, [chunk], {chunk.content_hash: placeholder}, MODEL_ID)
    chunk_ids = [change.chunk_id for change in store.changes.changes_since(0, limit=len(data.corpus) + 1)]
    return {
        chunk_id: chunk.source
        for chunk_id, chunk in store.documents.get_chunks(DEFAULT_TENANT, chunk_ids).items()
    }


def store_ranker(store: SqliteDatabase, sources: Mapping[int, str], latencies: list[float]) -> Ranker:
    def rank(query: str) -> list[str]:
        start = time.perf_counter()
        hits = store.keywords.keyword_search(DEFAULT_TENANT, query, k=100, collections=[COLLECTION])
        latencies.append((time.perf_counter() - start) * 1000)
        return [sources[chunk_id] for chunk_id, _ in hits]

    return rank


def reference_ranker(data: Dataset, k1: float = 1.2, b: float = 0.75) -> Ranker:
    """Plain BM25 over lower-cased `\\w+` tokens of title + text (Lucene's idf)."""
    tokenize = re.compile(r"\w+").findall
    postings: dict[str, dict[str, int]] = defaultdict(dict)
    lengths: dict[str, int] = {}
    for doc_id, (title, text) in data.corpus.items():
        terms = tokenize(f"{title} {text}".lower())
        lengths[doc_id] = len(terms)
        for term, tf in Counter(terms).items():
            postings[term][doc_id] = tf
    average = sum(lengths.values()) / max(1, len(lengths))
    n = len(lengths)

    def rank(query: str) -> list[str]:
        scores: dict[str, float] = defaultdict(float)
        for term in set(tokenize(query.lower())):
            docs = postings.get(term, {})
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            for doc_id, tf in docs.items():
                norm = tf + k1 * (1 - b + b * lengths[doc_id] / average)
                scores[doc_id] += idf * tf * (k1 + 1) / norm
        return sorted(scores, key=lambda doc_id: (-scores[doc_id], doc_id))[:100]

    return rank


def evaluate(data: Dataset, rank: Ranker) -> float:
    return float(np.mean([ndcg_at_10(rank(data.queries[q]), grades) for q, grades in data.qrels.items()]))


def run(directory: Path) -> dict[str, object]:
    data = load(directory)
    with tempfile.TemporaryDirectory(prefix="lore-bench-") as tmp:
        store = SqliteDatabase.from_path(Path(tmp) / "lore.db")
        try:
            store.migrate()
            start = time.perf_counter()
            sources = ingest(store, data)
            ingest_seconds = time.perf_counter() - start
            latencies: list[float] = []
            ndcg = evaluate(data, store_ranker(store, sources, latencies))
        finally:
            store.close()
    reference = evaluate(data, reference_ranker(data))
    return {
        "dataset": data.name,
        "documents": len(data.corpus),
        "queries": len(data.qrels),
        "ndcg_at_10": round(ndcg, 4),
        "reference_bm25_ndcg_at_10": round(reference, 4),
        "ratio": round(ndcg / reference, 3) if reference else None,
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 3),
        "latency_ms_p99": round(float(np.percentile(latencies, 99)), 3),
        "ingest_seconds": round(ingest_seconds, 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", type=Path, metavar="DATASET_DIR")
    parser.add_argument("--json", action="store_true", help="print one JSON object per data set")
    args = parser.parse_args(argv)
    header = f"{'dataset':<12} {'docs':>6} {'queries':>7} {'nDCG@10':>8} {'BM25 ref':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7}"
    if not args.json:
        print(header)
    for directory in args.datasets:
        result = run(directory)
        if args.json:
            print(json.dumps(result))
        else:
            print(
                f"{result['dataset']:<12} {result['documents']:>6} {result['queries']:>7} "
                f"{result['ndcg_at_10']:>8.3f} {result['reference_bm25_ndcg_at_10']:>8.3f} {result['ratio']:>6} "
                f"{result['latency_ms_p50']:>7.2f} {result['latency_ms_p99']:>7.2f}"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
