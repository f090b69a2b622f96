"""Retrieval quality on a BEIR-layout set: nDCG@10, Recall@100, MRR@10 and query latency, as
`lore eval retrieval` prints them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lore.core.retrieve import SearchRequest
from lore.evaluation.datasets import BeirSet
from lore.evaluation.metrics import mrr_at, ndcg_at, percentile_ms, recall_at
from lore.models import DEFAULT_TENANT, SearchMode
from lore.service import Lore

DEPTH = 200  # chunks retrieved per query: enough distinct documents for Recall@100


@dataclass(frozen=True, slots=True)
class RetrievalRun:
    """Each judged query's ranked document ids (a document counts once, at its best chunk) and the latency of
    each query searched."""

    ranked: dict[str, list[str]]
    latencies: list[float]


def search_all(
    lore: Lore,
    dataset: BeirSet,
    mode: SearchMode,
    depth: int = DEPTH,
    on_progress: Callable[[int], None] | None = None,
) -> RetrievalRun:
    """Search every judged query for `depth` chunks; `on_progress` hears how many queries are done."""
    ranked: dict[str, list[str]] = {}
    latencies: list[float] = []
    for query_id, text in dataset.queries.items():
        if text.strip():
            start = time.perf_counter()
            hits = lore.search(
                SearchRequest(DEFAULT_TENANT, text, min(depth, lore.settings.serving.max_k), mode)
            )
            latencies.append(time.perf_counter() - start)
            documents = [str(hit.chunk.metadata.get("record_id", hit.chunk.document_id)) for hit in hits]
            ranked[query_id] = list(dict.fromkeys(documents))
        else:  # unanswerable: scored as a miss rather than dropped
            ranked[query_id] = []
        if on_progress:
            on_progress(len(ranked))
    return RetrievalRun(ranked, latencies)


def summarise(dataset: BeirSet, mode: str, run: RetrievalRun, ingest_seconds: float) -> dict[str, object]:
    """The JSON object `lore eval retrieval` prints (DESIGN.md §4)."""
    ranked = run.ranked
    n = len(ranked) or 1
    return {
        "dataset": dataset.name,
        "mode": mode,
        "queries": len(ranked),
        "ndcg_at_10": round(sum(ndcg_at(r, dataset.qrels[q]) for q, r in ranked.items()) / n, 4),
        "recall_at_100": round(sum(recall_at(r, dataset.qrels[q]) for q, r in ranked.items()) / n, 4),
        "mrr_at_10": round(sum(mrr_at(r, dataset.qrels[q]) for q, r in ranked.items()) / n, 4),
        "latency_ms_p50": percentile_ms(run.latencies, 50),
        "latency_ms_p99": percentile_ms(run.latencies, 99),
        "ingest_seconds": round(ingest_seconds, 2),
    }
