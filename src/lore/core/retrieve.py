"""Search: keyword, vector and hybrid retrieval over one tenant's collections, hydrated into hits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lore.caching import LRU
from lore.core import fusion
from lore.core.bm25 import KeywordIndex
from lore.core.highlight import make_snippet
from lore.interfaces import Store, VectorIndex
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


@dataclass
class Retriever:
    store: Store
    index: VectorIndex
    embed_query: Callable[[str], np.ndarray]
    model_id: str
    list_collections: Callable[[str], list[str]]
    coverage: Callable[[str], float] = lambda _query: 1.0  # how well the embedder understands the query
    keyword_index: KeywordIndex | None = None  # in-memory BM25 for unfiltered queries; else the store's index
    chunk_cache: LRU[int, Chunk] = field(default_factory=lambda: LRU(0))

    def search(self, request: SearchRequest) -> list[Hit]:
        scored = self.rank(request, request.k)
        return self.hydrate(request, scored)

    def rank(self, request: SearchRequest, k: int) -> list[tuple[int, float, float | None, float | None]]:
        """(chunk id, score, vector score, keyword score), best first."""
        if request.mode == "keyword":
            return [(cid, s, None, s) for cid, s in self._keyword(request, k)]
        if request.mode == "vector":
            return [(cid, s, s, None) for cid, s in self._vector(request, self.embed_query(request.query), k)]
        return self._hybrid(request, k)

    def _keyword(self, request: SearchRequest, k: int) -> list[tuple[int, float]]:
        if (memory := self._memory_keywords(request)) is not None:
            return memory.search(request.tenant_id, request.query, k, request.collections)
        return self.store.keyword_search(
            request.tenant_id, request.query, k, request.collections, request.filters or None
        )

    def _memory_keywords(self, request: SearchRequest) -> KeywordIndex | None:
        """The in-memory BM25 index serves unfiltered queries; filters need the store's SQL."""
        return None if request.filters else self.keyword_index

    def _partitions(self, request: SearchRequest) -> list[str]:
        collections = request.collections or self.list_collections(request.tenant_id)
        return [partition_key(request.tenant_id, c, self.model_id) for c in collections]

    def _vector(self, request: SearchRequest, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        partitions = self._partitions(request)
        allowed = None
        if request.filters:
            allowed = self.store.filter_chunk_ids(request.tenant_id, request.collections, request.filters)
            if not allowed:
                return []
        return self.index.search(partitions, query, k, allowed)

    def _hybrid(self, request: SearchRequest, k: int) -> list[tuple[int, float, float | None, float | None]]:
        candidates = self.candidates(request, max(k, MIN_DEPTH))
        if not candidates:
            return []
        scores = fusion.fuse(candidates, self.coverage(request.query))
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            (candidates[i].chunk_id, float(scores[i]), candidates[i].vector, candidates[i].keyword)
            for i in order
        ]

    def candidates(self, request: SearchRequest, depth: int) -> list[fusion.Candidate]:
        """The union of both retrievers' top `depth`, each candidate with both scores."""
        query = self.embed_query(request.query)
        vector = dict(self._vector(request, query, depth))
        keyword = dict(self._keyword(request, depth))
        self._complete_vector(request, vector, keyword.keys() - vector.keys(), query)
        missing_keyword = list(vector.keys() - keyword.keys())
        memory = self._memory_keywords(request)
        scorer = self.store if memory is None else memory
        keyword.update(scorer.keyword_scores(request.tenant_id, request.query, missing_keyword))
        return [
            fusion.Candidate(cid, vector.get(cid, 0.0), keyword.get(cid, 0.0))
            for cid in sorted(vector.keys() | keyword.keys())
        ]

    def _complete_vector(
        self, request: SearchRequest, vector: dict[int, float], missing: set[int], query: np.ndarray
    ) -> None:
        """Cosines of keyword-only candidates, from the vectors the index holds (ids it has not seen yet, or no
        longer has, keep 0)."""
        if not missing:
            return
        ids, vectors = self.index.vectors(self._partitions(request), sorted(missing))
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
            fetched = self.store.get_chunks(tenant_id, missing)
            for cid, chunk in fetched.items():
                self.chunk_cache.put(cid, chunk)
            found.update(fetched)
        return found
