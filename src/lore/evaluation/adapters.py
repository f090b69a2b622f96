"""What a query adapter gains on a BEIR-layout set, as `lore eval adapter` prints it: trained on the pairs of
one qrels split (`train`), scored on another (`test`), in vector and hybrid search, without and with it.

The test queries whose relevant documents no training pair names are scored apart too (`unseen_documents`):
there the adapter can only help by how it maps the wording of queries, not by having learnt where the known
relevant documents lie.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lore.evaluation import retrieval
from lore.evaluation.datasets import BeirSet
from lore.evaluation.machine import cpu_flags
from lore.evaluation.metrics import ndcg_at
from lore.intelligence.adapter_pairs import Pair
from lore.intelligence.adapter_versions import MODES, AdapterVersions, helps
from lore.intelligence.adapters import train_adapter
from lore.models import DEFAULT_COLLECTION, DEFAULT_TENANT, SearchMode
from lore.service import Lore

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def training_pairs(lore: Lore, train: BeirSet) -> list[Pair]:
    """The split's judged (query, document) pairs, as pairs of the stored documents of its records."""
    sources = sorted({f"record:{doc}" for grades in train.qrels.values() for doc in grades})
    known = lore.store.documents.document_hashes(DEFAULT_TENANT, DEFAULT_COLLECTION, sources)
    return [
        Pair(train.queries[query], document_id=known[f"record:{doc}"].document_id)
        for query, grades in train.qrels.items()
        for doc, grade in grades.items()
        if grade > 0 and f"record:{doc}" in known
    ]


def run(lore: Lore, train: BeirSet, test: BeirSet, on_progress: Progress | None = None) -> dict[str, Any]:
    """Score `test` without an adapter, train one on `train`, activate it (whatever its held-out gain, which
    is reported), and score `test` again."""
    before = {mode: _ranked(lore, test, mode, f"{mode} queries", on_progress) for mode in MODES}
    pairs = training_pairs(lore, train)
    model = train_adapter(lore, DEFAULT_TENANT, DEFAULT_COLLECTION, pairs)
    AdapterVersions.of(lore).activate(DEFAULT_TENANT, DEFAULT_COLLECTION, model.version, force=True)
    after = {mode: _ranked(lore, test, mode, f"{mode} queries, adapted", on_progress) for mode in MODES}
    seen = {doc for grades in train.qrels.values() for doc in grades}
    unseen = [q for q, grades in test.qrels.items() if not seen.intersection(grades)]
    return {
        "dataset": test.name,
        "training_queries": len(train.queries),
        "training_pairs": len(pairs),
        "test_queries": len(test.queries),
        **{mode: _compare(test, before[mode], after[mode], list(test.qrels)) for mode in MODES},
        "unseen_documents": {
            "queries": len(unseen),
            **{mode: _compare(test, before[mode], after[mode], unseen) for mode in MODES},
        },
        "held_out": {key: model.metrics.get(key) for key in ("held_out_queries", *MODES)},
        "helps": helps(model, lore.settings.intelligence.adapter_min_gain),
        "adapter_version": model.version,
        "epochs": model.metrics["epochs"],
        "training_seconds": model.metrics["training_seconds"],
        "cpu_flags": cpu_flags(),
    }


def _ranked(
    lore: Lore, test: BeirSet, mode: SearchMode, stage: str, on_progress: Progress | None
) -> dict[str, list[str]]:
    def progress(done: int) -> None:
        if on_progress:
            on_progress(stage, done, len(test.queries))

    return retrieval.search_all(lore, test, mode, retrieval.DEPTH, progress).ranked


def _compare(
    test: BeirSet, before: dict[str, list[str]], after: dict[str, list[str]], queries: list[str]
) -> dict[str, float]:
    def mean(ranked: dict[str, list[str]]) -> float:
        return sum(ndcg_at(ranked[q], test.qrels[q]) for q in queries) / len(queries) if queries else 0.0

    without, adapted = mean(before), mean(after)
    return {
        "ndcg_at_10": round(without, 4),
        "ndcg_at_10_adapted": round(adapted, 4),
        "gain": round(adapted - without, 4),
    }
