"""What document permissions cost a search: in-process `Lore.search` latency, in a tenant without restricted
documents and in tenants where some are, for an admin, a reader granted everything and an outsider.

    python bench/bench_access.py [--docs 1500] [--queries 100] [--mode hybrid]

Each tenant holds the same `--docs` SciFact records, two chunks each, with random unit vectors written straight
into the store (the query embedding is cached after the warm-up, so no model time is measured and no passage is
embedded). The open tenant restricts nothing; the others restrict 10% and 50% of their documents to one group.
Every query is run once per tenant and caller, the cases taking turns in a rotating order, after one untimed
round of the same (so every case's chunks are in the chunk cache), with the result cache off, on SQLite with the in-memory BM25 as `lore serve`
runs. The reference is the admin in the open tenant: nothing is resolved for an admin, so that is the search
without permissions; ratios are each case's CPU time (this thread's: SQLite runs in it) over it, which a
shared machine's waits for a core do not blur as they blur wall times.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np

from benchkit import SCIFACT, percentiles_ms, ratio, table, write_result
from lore.config import Settings
from lore.core.retrieve import SearchRequest
from lore.evaluation.datasets import load_beir
from lore.models import Access, ChunkDraft, DocumentDraft, Readers, content_hash
from lore.service import Lore

TENANTS = {"open": 0.0, "tenth": 0.1, "half": 0.5}  # tenant -> share of its documents restricted
CALLERS: dict[str, Readers] = {
    "admin": None,
    "granted": frozenset({"key:in", "group:g"}),
    "outsider": frozenset({"key:out"}),
}


def fill(lore: Lore, tenant: str, records: list[tuple[str, str]], restricted: float) -> int:
    """The records as two-chunk documents; every k-th one restricted to group g. Returns the chunk count."""
    rng = np.random.default_rng(7)
    model = lore.embedder.model_id
    lore.store.groups.create(tenant, "g")
    every = round(1 / restricted) if restricted else 0
    chunks_written = 0
    for i, (title, text) in enumerate(records):
        half = len(text) // 2
        parts = [text[:half] or title, text[half:] or title]
        chunks = [
            ChunkDraft(n, part, (), len(part.split()), f"{title}\n{part}") for n, part in enumerate(parts)
        ]
        access = Access(True, ("g",)) if every and i % every == 0 else None
        draft = DocumentDraft(tenant, "c", title, f"r{i}", text, content_hash(text), access=access)
        vectors = {c.content_hash: unit(rng) for c in chunks}
        lore.store.documents.write_document(draft, chunks, vectors, model)
        chunks_written += len(chunks)
    lore.sync_index()
    return chunks_written


def unit(rng: np.random.Generator) -> np.ndarray:
    vector = rng.standard_normal(384).astype(np.float32)
    return vector / np.linalg.norm(vector)


Case = tuple[str, str]  # (tenant, caller)


def timed(
    lore: Lore, queries: list[str], mode: str
) -> tuple[dict[Case, list[float]], dict[Case, list[float]]]:
    """Wall and CPU seconds per search of every case, the cases taking turns query by query so that the
    machine's other work weighs on each alike. The CPU time (of this thread: SQLite runs in it) leaves out the
    waits for a core that a shared machine adds to the wall time."""
    cases = [(t, c) for t in TENANTS for c in CALLERS]
    wall: dict[Case, list[float]] = {case: [] for case in cases}
    cpu: dict[Case, list[float]] = {case: [] for case in cases}
    for turn, query in enumerate(queries):
        for tenant, caller in cases[turn % len(cases) :] + cases[: turn % len(cases)]:
            request = SearchRequest(tenant, query, k=10, mode=mode, readers=CALLERS[caller])  # type: ignore[arg-type]
            start, start_cpu = time.perf_counter(), time.thread_time()
            lore.search(request)
            cpu[(tenant, caller)].append(time.thread_time() - start_cpu)
            wall[(tenant, caller)].append(time.perf_counter() - start)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1500)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--mode", default="hybrid", choices=["hybrid", "vector", "keyword"])
    args = parser.parse_args()
    data = load_beir(SCIFACT)
    records = [(doc.title, doc.text) for doc in itertools.islice(data.corpus(), args.docs)]
    queries = list(data.queries.values())[: args.queries]
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            _env_file=None,
            data_dir=Path(scratch),
            keyword_index="memory",
            search_cache_size=0,
            embed_threads=1,
        )
        with Lore.open(settings) as lore:
            chunks = {tenant: fill(lore, tenant, records, share) for tenant, share in TENANTS.items()}
            for query in queries:  # embeds each query once: the LRU serves it afterwards
                lore.models.embed_query(lore.embedder.model_id, query)
            timed(lore, queries, args.mode)  # warm: every case's chunks in the chunk cache, every stem seen
            wall, cpu = timed(lore, queries, args.mode)
    results = {case: percentiles_ms(found) for case, found in wall.items()}
    cpu_results = {case: percentiles_ms(found) for case, found in cpu.items()}
    reference = cpu_results[("open", "admin")]["p50"]
    rows = [
        [
            tenant,
            f"{TENANTS[tenant]:.0%}",
            caller,
            chunks[tenant],
            cpu_results[(tenant, caller)]["p50"],
            ratio(cpu_results[(tenant, caller)]["p50"], reference),
            found["p50"],
            found["p99"],
        ]
        for (tenant, caller), found in results.items()
    ]
    header = [
        "tenant",
        "restricted",
        "caller",
        "chunks",
        "cpu p50 ms",
        "/ open admin",
        "wall p50",
        "wall p99",
    ]
    print(table(header, rows))
    write_result(
        "access",
        {
            "mode": args.mode,
            "docs": args.docs,
            "queries": len(queries),
            "chunks": chunks,
            "cpu_ms": {f"{t}/{c}": found for (t, c), found in cpu_results.items()},
            "wall_ms": {f"{t}/{c}": found for (t, c), found in results.items()},
        },
    )


if __name__ == "__main__":
    main()
