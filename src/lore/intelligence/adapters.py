"""Query adapters: embeddings tuned to a tenant, one collection at a time, without embedding its corpus again.

    >>> model = train_adapter(lore, "default", "help", pairs)  # a new candidate version, with its metrics
    >>> versions = AdapterVersions.of(lore)
    >>> versions.activate("default", "help")  # refused unless it helped on held-out queries
    >>> versions.rollback("default", "help")  # the version active before, or none

Training fits a linear map of query vectors (`adapter_model`) to the pairs of most queries, stops on a
validation split, and then searches the held-out queries for real, in vector and in hybrid mode, without and
with the candidate: those figures are its `metrics`, and activation (`adapter_versions`) refuses an adapter that
did not gain more than `adapter_min_gain` nDCG@10 in vector search or that lost any in hybrid search, unless
forced. An adapter serves the model it was trained for (`embedder`); after a re-embedding it is skipped until
one is trained anew.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from lore.backends.store.trained_models import TrainedModel
from lore.core.retrieve import SearchRequest
from lore.errors import InvalidInput, NotFound
from lore.evaluation.metrics import ndcg_at
from lore.intelligence import adapter_examples
from lore.intelligence.adapter_examples import PROGRESS_EVERY, LabelledQuery, Progress, Target
from lore.intelligence.adapter_model import KIND, Examples, Fit, FitParams, LinearAdapter, encode, fit
from lore.intelligence.adapter_pairs import DocumentLookup, Pair, data_hash
from lore.intelligence.adapter_versions import MODES, AdapterVersions, helps
from lore.models import SearchMode
from lore.names import check_name
from lore.service.query_adapters import OnlyAdapter, QuerySpaces

if TYPE_CHECKING:
    from lore.service import Lore

MIN_QUERIES = 10  # distinct queries with a positive in the collection
HELD_OUT = 0.2  # of the queries, searched to decide whether the adapter helps
VALIDATION = 0.1  # of the queries, to stop training
DEPTH = 30  # chunks a held-out search returns: ten documents even when documents have several chunks


def train_adapter(
    lore: Lore,
    tenant_id: str,
    collection: str,
    pairs: Sequence[Pair],
    *,
    activate: bool = False,
    params: FitParams = FitParams(),
    on_progress: Progress | None = None,
) -> TrainedModel:
    """Fit, evaluate and store a new candidate version; with `activate`, activate it if it helps.
    `on_progress(done, total)` hears how far each stage got: queries embedded, epochs, held-out searches."""
    lore.sync_index()
    target = _target(lore, tenant_id, collection)
    queries, pooled = _labelled(target, pairs, on_progress)
    splits = adapter_examples.split(queries, HELD_OUT, VALIDATION)
    training, validation, held_out = splits
    start = time.perf_counter()
    fitted = fit(pooled.subset(training), pooled.subset(validation), params, on_progress)
    seconds = time.perf_counter() - start
    candidate = LinearAdapter("candidate", 0, target.model, fitted.matrix)
    metrics = {
        **evaluate(target, [queries[i] for i in held_out], candidate, on_progress),
        **_figures(fitted, splits, seconds, len(pairs), len(pooled.pool)),
    }
    model = lore.store.trained_models.save(
        tenant_id,
        KIND,
        collection,
        encode(fitted.matrix),
        data_hash=data_hash(pairs),
        embedder=target.model,
        metrics=metrics,
        params=asdict(params),
    )
    if activate and helps(model, lore.settings.intelligence.adapter_min_gain):
        model = AdapterVersions.of(lore).activate(tenant_id, collection, model.version)
    return model


def _labelled(
    target: Target, pairs: Sequence[Pair], on_progress: Progress | None
) -> tuple[list[LabelledQuery], Examples]:
    """The distinct queries that have a positive in the collection's index, and their examples."""
    queries = adapter_examples.resolve(target, pairs, on_progress)
    _check_enough(len(queries), target.collection, len(pairs))
    pooled = adapter_examples.examples(target, queries)
    kept = [i for i, positives in enumerate(pooled.positives) if len(positives)]
    _check_enough(len(kept), target.collection, len(pairs))
    return [queries[i] for i in kept], pooled.subset(kept)


def _figures(
    fitted: Fit, splits: tuple[list[int], ...], seconds: float, pairs: int, pool: int
) -> dict[str, Any]:
    training, validation, held_out = splits
    return {
        "pairs": pairs,
        "queries": {"training": len(training), "validation": len(validation), "held_out": len(held_out)},
        "validation_ndcg_at_10": {
            "before": round(fitted.validation_before, 4),
            "after": round(fitted.validation_after, 4),
        },
        "epochs": fitted.epochs,
        "training_seconds": round(seconds, 2),
        "pool": pool,
    }


def evaluate(
    target: Target,
    queries: Sequence[LabelledQuery],
    adapter: LinearAdapter,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """nDCG@10 of real searches of the collection for the queries' documents, without and with `adapter`."""
    judged = [query for query in queries if query.documents]
    figures: dict[str, Any] = {"held_out_queries": len(judged)}
    runs = [(mode, candidate) for mode in MODES for candidate in (None, adapter)]
    scores = []
    for done, (mode, candidate) in enumerate(runs):
        progress = _Searches(on_progress, done * len(judged), len(runs) * len(judged))
        scores.append(_search_ndcg(target, judged, mode, candidate, progress))
    for mode, before, after in zip(MODES, scores[::2], scores[1::2], strict=True):
        figures[mode] = {
            "before": round(before, 4),
            "after": round(after, 4),
            "gain": round(after - before, 4),
        }
    return figures


def document_lookup(lore: Lore, tenant_id: str, collection: str) -> DocumentLookup:
    """What a pairs file's references name in the collection: document ids first, else sources."""

    def lookup(references: Sequence[str]) -> dict[str, str]:
        by_source = {
            source: known.document_id
            for source, known in lore.store.documents.document_hashes(tenant_id, collection).items()
        }
        ids = set(by_source.values())
        found = {ref: ref for ref in references if ref in ids}
        return found | {ref: by_source[ref] for ref in references if ref not in found and ref in by_source}

    return lookup


def _check_enough(queries: int, collection: str, pairs: int) -> None:
    if queries < MIN_QUERIES:
        raise InvalidInput(
            f"an adapter needs at least {MIN_QUERIES} distinct queries with an answer in the collection",
            details={"collection": collection, "queries": queries, "pairs": pairs},
        )


def _target(lore: Lore, tenant_id: str, collection: str) -> Target:
    check_name("collection", collection)
    model = lore.models.serving(tenant_id, collection).active
    target = Target(lore, tenant_id, collection, model)
    if not any(lore.index.count(partition) for partition in target.partitions):
        raise NotFound(f"collection {collection!r} has no indexed chunks", details={"collection": collection})
    return target


@dataclass(frozen=True, slots=True)
class _Searches:
    """Reports held-out searches done, over all the evaluation's runs."""

    report: Progress | None
    before: int
    total: int

    def __call__(self, searched: int) -> None:
        if self.report:
            self.report(self.before + searched, self.total)


def _search_ndcg(
    target: Target,
    queries: Sequence[LabelledQuery],
    mode: SearchMode,
    adapter: LinearAdapter | None,
    on_search: _Searches,
) -> float:
    lore = target.lore
    spaces = QuerySpaces(lore.models, OnlyAdapter(target.tenant_id, target.collection, adapter))
    retriever = replace(lore.retriever, models=spaces)
    total = 0.0
    for searched, query in enumerate(queries, start=1):
        if searched % PROGRESS_EVERY == 0:
            on_search(searched)
        request = SearchRequest(target.tenant_id, query.text, DEPTH, mode, [target.collection])
        ranked = list(dict.fromkeys(hit.chunk.document_id for hit in retriever.search(request)))
        total += ndcg_at(ranked, dict.fromkeys(query.documents, 1))
    return total / len(queries) if queries else 0.0
