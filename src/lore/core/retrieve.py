"""Search: keyword, vector and hybrid retrieval over one tenant's collections, hydrated into hits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from lore.backends.store.database import Database
from lore.caching import LRU
from lore.core import fusion
from lore.core.bm25 import KeywordIndex
from lore.core.highlight import make_snippet
from lore.interfaces import VectorIndex
from lore.models import Chunk, Hit, SearchFilters, SearchMode, partition_key

MIN_DEPTH = 50  # candidates each retriever contributes to hybrid fusion


@dataclass(frozen=True, slots=True)
class SearchRequest:
    tenant_id: str
    query: str
    k: int = 10
    mode: SearchMode = "hybrid"
    collections: Sequence[str] | None = None
    filters: SearchFilters = field(default_factory=SearchFilters)


Plan = Callable[[str, Sequence[str] | None], dict[str, list[str]]]
Ranked = list[tuple[int, float, float | None, float | None]]


@dataclass
class Retriever:
    """Searches one tenant's collections, each with the query embedded by that collection's active model."""

    store: Database
    index: VectorIndex
    embed_query: Callable[[str, str], np.ndarray]  # (model id, query) -> unit vector
    plan: Plan  # (tenant, collections or None for all) -> {model id: the collections it serves}
    coverage: Callable[[str, str], float] = lambda _model, _query: 1.0  # how well a model understands a query
    keyword_index: KeywordIndex | None = None  # in-memory BM25 for unfiltered queries; else the store's index
    chunk_cache: LRU[int, Chunk] = field(default_factory=lambda: LRU(0))

    def search(self, request: SearchRequest) -> list[Hit]:
        scored = self.rank(request, request.k)
        return self.hydrate(request, scored)

    def rank(self, request: SearchRequest, k: int) -> Ranked:
        """(chunk id, score, vector score, keyword score), best first. Collections embedded by different models
        are ranked apart and interleaved by rank: cosines of two models are not on one scale."""
        groups = self.plan(request.tenant_id, request.collections)
        if len(groups) <= 1:
            model = next(iter(groups), None)
            return self._rank(request, model, groups.get(model or "", []), k)
        ranked = [
            self._rank(replace(request, collections=collections), model, collections, k)
            for model, collections in sorted(groups.items())
        ]
        return interleave(ranked, k)

    def _rank(self, request: SearchRequest, model: str | None, collections: list[str], k: int) -> Ranked:
        if request.mode == "keyword":
            return [(cid, s, None, s) for cid, s in self._keyword(request, k)]
        if model is None:  # no vectors in these collections yet
            return [] if request.mode == "vector" else [(c, s, None, s) for c, s in self._keyword(request, k)]
        target = _Target(model, [partition_key(request.tenant_id, c, model) for c in collections])
        if request.mode == "vector":
            query = self.embed_query(model, request.query)
            return [(cid, s, s, None) for cid, s in self._vector(request, target, query, k)]
        return self._hybrid(request, target, k)

    def _keyword(self, request: SearchRequest, k: int) -> list[tuple[int, float]]:
        if (memory := self._memory_keywords(request)) is not None:
            return memory.search(request.tenant_id, request.query, k, request.collections)
        return self.store.keywords.keyword_search(
            request.tenant_id, request.query, k, request.collections, request.filters or None
        )

    def _memory_keywords(self, request: SearchRequest) -> KeywordIndex | None:
        """The in-memory BM25 index serves unfiltered queries; filters need the store's SQL."""
        return None if request.filters else self.keyword_index

    def _vector(
        self, request: SearchRequest, target: _Target, query: np.ndarray, k: int
    ) -> list[tuple[int, float]]:
        allowed = None
        if request.filters:
            allowed = self.store.documents.filter_chunk_ids(
                request.tenant_id, request.collections, request.filters
            )
            if not allowed:
                return []
        return self.index.search(target.partitions, query, k, allowed)

    def _hybrid(self, request: SearchRequest, target: _Target, k: int) -> Ranked:
        candidates = self.candidates(request, target, max(k, MIN_DEPTH))
        if not candidates:
            return []
        scores = fusion.fuse(candidates, self.coverage(target.model, request.query))
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            (candidates[i].chunk_id, float(scores[i]), candidates[i].vector, candidates[i].keyword)
            for i in order
        ]

    def candidates(self, request: SearchRequest, target: _Target, depth: int) -> list[fusion.Candidate]:
        """The union of both retrievers' top `depth`, each candidate with both scores."""
        query = self.embed_query(target.model, request.query)
        vector = dict(self._vector(request, target, query, depth))
        keyword = dict(self._keyword(request, depth))
        self._complete_vector(target, vector, keyword.keys() - vector.keys(), query)
        missing_keyword = list(vector.keys() - keyword.keys())
        memory = self._memory_keywords(request)
        scorer = self.store.keywords if memory is None else memory
        keyword.update(scorer.keyword_scores(request.tenant_id, request.query, missing_keyword))
        return [
            fusion.Candidate(cid, vector.get(cid, 0.0), keyword.get(cid, 0.0))
            for cid in sorted(vector.keys() | keyword.keys())
        ]

    def _complete_vector(
        self, target: _Target, vector: dict[int, float], missing: set[int], query: np.ndarray
    ) -> None:
        """Cosines of keyword-only candidates, from the vectors the index holds (ids it has not seen yet, or no
        longer has, keep 0)."""
        if not missing:
            return
        ids, vectors = self.index.vectors(target.partitions, sorted(missing))
        if not len(ids):
            return
        norms = np.maximum(np.linalg.norm(vectors, axis=1) * np.linalg.norm(query), 1e-12)
        for cid, score in zip(ids.tolist(), ((vectors @ query) / norms).tolist(), strict=True):
            vector[cid] = score

    def hydrate(
        self, request: SearchRequest, scored: list[tuple[int, float, float | None, float | None]]
    ) -> list[Hit]:
        """Attach chunk and document fields; ids deleted since the index saw them drop out here."""
        chunks = self._chunks(request.tenant_id, [cid for cid, *_ in scored])
        hits = []
        for cid, score, vector_score, keyword_score in scored:
            chunk = chunks.get(cid)
            if chunk is None:
                continue
            snippet = make_snippet(chunk.text, request.query)
            hits.append(Hit(chunk, score, snippet.text, snippet.highlights, vector_score, keyword_score))
        return hits

    def _chunks(self, tenant_id: str, ids: list[int]) -> dict[int, Chunk]:
        """Chunks from the cache, the rest from the store. Chunk ids are never reused and a chunk never changes,
        so an entry can only go stale by deletion: the owner clears the cache whenever the index applies changes."""
        cached, missing = self.chunk_cache.get_many(ids)
        found = {cid: chunk for cid, chunk in cached.items() if chunk.tenant_id == tenant_id}
        if missing:
            fetched = self.store.documents.get_chunks(tenant_id, missing)
            for cid, chunk in fetched.items():
                self.chunk_cache.put(cid, chunk)
            found.update(fetched)
        return found


@dataclass(frozen=True, slots=True)
class _Target:
    """The vector side of one search: a model and the partitions of the searched collections it embeds."""

    model: str
    partitions: list[str]


def interleave(ranked: Sequence[Ranked], k: int, depth: int = 60) -> Ranked:
    """Merge rankings of disjoint collections by reciprocal rank (1 / (depth + rank)): each model's order is
    kept, and no model's scores are compared with another's. The vector and keyword scores stay as they were."""
    merged = [
        (1.0 / (depth + rank), position, item)
        for position, items in enumerate(ranked)
        for rank, item in enumerate(items, start=1)
    ]
    merged.sort(key=lambda entry: (-entry[0], entry[1]))
    return [(cid, score, vector, keyword) for score, _, (cid, _s, vector, keyword) in merged[:k]]
