"""Search: keyword, vector and hybrid retrieval over one tenant's collections, hydrated into hits.

A search serves its `readers`: the restricted documents they may not read are resolved once (`Hidden`) and
kept out of every retriever's candidates before anything is ranked, so the k best readable chunks come back
and what one reader may not see never takes the place of what they may. Where nothing is hidden (admins, and
tenants without restricted documents) the search runs exactly as without permissions: the in-memory BM25 and
the unfiltered vector index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple, Protocol

import numpy as np

from lore.caching import LRU
from lore.core import fusion
from lore.core.bm25 import KeywordIndex
from lore.core.highlight import Snippet, query_stems, snippet_of
from lore.core.probes import Probes, Stage
from lore.interfaces import Documents, KeywordSearch, VectorIndex
from lore.models import (
    NOTHING_HIDDEN,
    Chunk,
    Hidden,
    Hit,
    Readers,
    ScoredChunk,
    SearchFilters,
    SearchMode,
    partition_key,
)

MIN_DEPTH = 50  # candidates each retriever contributes to hybrid fusion
# The most neighbours the vector index is asked for to pass over hidden chunks; beyond, the readable chunks are
# listed and the index searches only those.
MAX_PASSED_OVER = 1000


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """`readers`: whom the search serves (None: every document, as for admins and the operator); `rerank`: the
    top hits reordered by the cross-encoder (`Lore.search`)."""

    tenant_id: str
    query: str
    k: int = 10
    mode: SearchMode = "hybrid"
    collections: Sequence[str] | None = None
    filters: SearchFilters = field(default_factory=SearchFilters)
    readers: Readers = None
    rerank: bool = False


class RankedChunk(NamedTuple):
    """A ranked chunk with the fused score it is ranked by, each retriever's own (None: not consulted) and its
    relevance on an absolute scale (`fusion.relevance`)."""

    chunk_id: int
    score: float
    vector_score: float | None
    keyword_score: float | None
    relevance: float | None = None


Ranked = list[RankedChunk]


class Pool(NamedTuple):
    """What hybrid fusion ranks in one query space: the candidates with both scores, and how well the space's
    model understands the query (`QueryModels.coverage`)."""

    candidates: list[fusion.Candidate]
    coverage: float
    floor: float | None  # the model's calibrated `unrelated_below` cosine


class QueryAdapter(Protocol):
    """A map of query vectors tuned to one collection (`lore.intelligence.adapters`); `id` names its version."""

    @property
    def id(self) -> str: ...

    def apply(self, vector: np.ndarray) -> np.ndarray:
        """The adapted unit vector of a query vector."""
        ...


class QuerySpace(NamedTuple):
    """Where a query is embedded to search some collections: by their model, through their adapter (if any).
    Collections of different spaces are ranked apart, as collections of different models are."""

    model: str
    adapter: QueryAdapter | None = None

    @property
    def label(self) -> str:
        """The space in cache keys: a new adapter version is a new label."""
        return self.model if self.adapter is None else f"{self.model}+{self.adapter.id}"


Plan = dict[QuerySpace, list[str]]  # the searched collections by the query space they are searched in


class QueryModels(Protocol):
    """The embedding models a search needs: which serves which collection, and query vectors by each."""

    def plan(self, tenant_id: str, collections: Sequence[str] | None) -> Plan:
        """{space: the searched collections it embeds}; None searches every collection with vectors."""
        ...

    def embed_query(self, space: QuerySpace, text: str) -> np.ndarray:
        """A unit vector of the query in that space."""
        ...

    def coverage(self, model: str, query: str) -> float:
        """0..1: how well the model understands the query's language."""
        ...

    def unrelated_below(self, model: str) -> float | None:
        """The model's calibrated cosine under which a passage is about something else (None: uncalibrated)."""
        ...


class Visibility(Protocol):
    """What a search's readers may not see: the store's answer, resolved once per search."""

    def hidden(self, tenant_id: str, readers: Readers, collections: Sequence[str] | None) -> Hidden: ...


@dataclass
class Retriever:
    """Searches one tenant's collections, each with the query embedded by that collection's active model."""

    documents: Documents
    keywords: KeywordSearch
    index: VectorIndex
    models: QueryModels
    access: Visibility
    keyword_index: KeywordIndex | None = None  # in-memory BM25 for unfiltered queries; else the store's index
    chunk_cache: LRU[int, Chunk] = field(default_factory=lambda: LRU(0))
    probes: Probes = field(default_factory=Probes)  # each search's time per stage

    def hidden(self, request: SearchRequest) -> Hidden:
        """The documents and chunks of the searched collections that the request's readers may not read."""
        return self.access.hidden(request.tenant_id, request.readers, request.collections)

    def search(
        self, request: SearchRequest, hidden: Hidden | None = None, plan: Plan | None = None
    ) -> list[Hit]:
        """`hidden` and `plan`, when the caller resolved them already (to key a cache with them), are what the
        search leaves out and the query spaces it searches in; otherwise they are resolved here."""
        with self.probes.search(request.mode):
            hidden = self.hidden(request) if hidden is None else hidden
            ranked = self.rank(request, request.k, hidden, plan)
            return self.hydrate(request, ranked, hidden)

    def nearest(self, request: SearchRequest, model: str, vector: np.ndarray) -> list[Hit]:
        """The request's k readable chunks nearest `vector`, a unit vector of `model`, among the searched
        collections that model embeds (the others cannot be compared with it); `request.query` only picks
        the snippets. What a centroid of questions is matched against documents with."""
        plan = self.models.plan(request.tenant_id, request.collections)
        collections = [c for space, group in plan.items() if space.model == model for c in group]
        if not collections:
            return []
        request = replace(request, collections=collections)
        hidden = self.hidden(request)
        target = _Target(QuerySpace(model), [partition_key(request.tenant_id, c, model) for c in collections])
        found = self._vector(request, target, vector, request.k, hidden)
        return self.hydrate(request, [RankedChunk(cid, s, s, None) for cid, s in found], hidden)

    def plan(self, request: SearchRequest) -> Plan:
        """The query space of each searched collection: its model, and its adapter if it has one."""
        return self.models.plan(request.tenant_id, request.collections)

    def rank(
        self, request: SearchRequest, k: int, hidden: Hidden = NOTHING_HIDDEN, plan: Plan | None = None
    ) -> Ranked:
        """(chunk id, score, vector score, keyword score), best first, none of them `hidden`. Collections
        embedded by different models, or through different adapters, are ranked apart and interleaved by rank:
        their cosines are not on one scale. Keyword scores are: a keyword search ranks every collection at once."""
        if request.mode == "keyword":
            return self._keyword_only(request, k, hidden)
        groups = self.plan(request) if plan is None else plan
        if len(groups) <= 1:
            space = next(iter(groups), None)
            return self._rank(request, space, [] if space is None else groups[space], k, hidden)
        ranked = [
            self._rank(replace(request, collections=collections), space, collections, k, hidden)
            for space, collections in sorted(groups.items(), key=lambda group: group[0].label)
        ]
        with Stage("fuse"):
            return interleave(ranked, k)

    def _rank(
        self, request: SearchRequest, space: QuerySpace | None, collections: list[str], k: int, hidden: Hidden
    ) -> Ranked:
        if space is None:  # no vectors in these collections yet
            return [] if request.mode == "vector" else self._keyword_only(request, k, hidden)
        partitions = [partition_key(request.tenant_id, c, space.model) for c in collections]
        target = _Target(space, partitions)
        if request.mode == "vector":
            with Stage("embed"):
                query = self.models.embed_query(space, request.query)
            ranked = [
                RankedChunk(cid, s, s, None) for cid, s in self._vector(request, target, query, k, hidden)
            ]
        else:
            ranked = self._hybrid(request, target, k, hidden)
        floor = self.models.unrelated_below(space.model)
        return [item._replace(relevance=fusion.relevance(item.vector_score, floor)) for item in ranked]

    def _keyword_only(self, request: SearchRequest, k: int, hidden: Hidden) -> Ranked:
        return [RankedChunk(cid, score, None, score) for cid, score in self._keyword(request, k, hidden)]

    def _keyword(self, request: SearchRequest, k: int, hidden: Hidden) -> list[ScoredChunk]:
        """The in-memory BM25 passes over the hidden chunks before taking its top k; the store's SQL leaves
        the hidden documents out in its WHERE clause (only when there are any: else the query is unchanged)."""
        with Stage("keyword"):
            if (memory := self._memory_keywords(request)) is not None:
                return memory.search(request.tenant_id, request.query, k, request.collections, hidden.chunks)
            readers = request.readers if hidden else None
            return self.keywords.keyword_search(
                request.tenant_id, request.query, k, request.collections, request.filters or None, readers
            )

    def _memory_keywords(self, request: SearchRequest) -> KeywordIndex | None:
        """The in-memory BM25 index serves unfiltered queries; filters need the store's SQL."""
        return None if request.filters else self.keyword_index

    def _vector(
        self, request: SearchRequest, target: _Target, query: np.ndarray, k: int, hidden: Hidden
    ) -> list[ScoredChunk]:
        """The k nearest readable chunks: with filters, the index searches the allowed ids; else hidden
        chunks are passed over (`_passing_over`)."""
        with Stage("vector"):
            if request.filters:
                return self._allowed(request, target, query, k, hidden)
            if not hidden.chunks:
                return self.index.search(target.partitions, query, k)
            return self._passing_over(request, target, query, k, hidden)

    def _passing_over(
        self, request: SearchRequest, target: _Target, query: np.ndarray, k: int, hidden: Hidden
    ) -> list[ScoredChunk]:
        """Ask the index for more neighbours than k and pass over the hidden ones. If k readable ones remain,
        they are the k nearest readable chunks (whatever lies further cannot be nearer): the same answer as
        searching the readable chunks alone. The first ask expects hidden chunks as often as they are in the
        index, the second allows for every hidden chunk; past `MAX_PASSED_OVER`, the readable ids are listed
        and searched instead."""
        size = sum(self.index.count(partition) for partition in target.partitions)
        expected = k * len(hidden.chunks) // max(size - len(hidden.chunks), 1)
        for fetch in sorted({k + 2 * expected + 8, k + len(hidden.chunks)}):
            if fetch > MAX_PASSED_OVER:
                break
            found = self.index.search(target.partitions, query, fetch)
            kept = [hit for hit in found if hit.chunk_id not in hidden.chunks]
            if len(kept) >= k or len(found) < fetch:
                return kept[:k]
        return self._allowed(request, target, query, k, hidden)

    def _allowed(
        self, request: SearchRequest, target: _Target, query: np.ndarray, k: int, hidden: Hidden
    ) -> list[ScoredChunk]:
        """The index searches only the ids that pass the filters and that the readers may read."""
        readers = request.readers if hidden else None
        allowed = self.documents.filter_chunk_ids(
            request.tenant_id, request.collections, request.filters, readers
        )
        allowed -= hidden.chunks
        return self.index.search(target.partitions, query, k, allowed) if allowed else []

    def pools(self, request: SearchRequest, depth: int, hidden: Hidden = NOTHING_HIDDEN) -> list[Pool]:
        """What hybrid search fuses for `request` with `depth` candidates a retriever, one pool per query
        space: offline evaluation of fusion rules (`lore eval fusion`) ranks exactly these."""
        return [
            self._pool(
                request,
                _Target(space, [partition_key(request.tenant_id, c, space.model) for c in group]),
                depth,
                hidden,
            )
            for space, group in sorted(self.plan(request).items(), key=lambda item: item[0].label)
        ]

    def _pool(self, request: SearchRequest, target: _Target, depth: int, hidden: Hidden) -> Pool:
        candidates = self.candidates(request, target, depth, hidden)
        model = target.space.model
        return Pool(
            candidates, self.models.coverage(model, request.query), self.models.unrelated_below(model)
        )

    def _hybrid(self, request: SearchRequest, target: _Target, k: int, hidden: Hidden) -> Ranked:
        found = self._scores(request, target, max(k, MIN_DEPTH), hidden)
        if not found.ids:
            return []
        model = target.space.model
        coverage, floor = self.models.coverage(model, request.query), self.models.unrelated_below(model)
        with Stage("fuse"):
            scores = fusion.fuse_columns(*found.columns(), coverage, floor)
            order = np.argsort(-scores, kind="stable")[:k].tolist()
            return [
                RankedChunk(cid, score, found.vector.get(cid, 0.0), found.keyword.get(cid, 0.0))
                for cid, score in zip([found.ids[i] for i in order], scores[order].tolist(), strict=True)
            ]

    def candidates(
        self, request: SearchRequest, target: _Target, depth: int, hidden: Hidden = NOTHING_HIDDEN
    ) -> list[fusion.Candidate]:
        """The union of both retrievers' top `depth` readable chunks, each candidate with both scores."""
        found = self._scores(request, target, depth, hidden)
        return [
            fusion.Candidate(cid, found.vector.get(cid, 0.0), found.keyword.get(cid, 0.0))
            for cid in found.ids
        ]

    def _scores(self, request: SearchRequest, target: _Target, depth: int, hidden: Hidden) -> _Scores:
        with Stage("embed"):
            query = self.models.embed_query(target.space, request.query)
        vector = dict(self._vector(request, target, query, depth, hidden))
        keyword = dict(self._keyword(request, depth, hidden))
        with Stage("vector"):
            self._complete_vector(target, vector, keyword.keys() - vector.keys(), query)
        missing_keyword = list(vector.keys() - keyword.keys())
        memory = self._memory_keywords(request)
        scorer: KeywordSearch | KeywordIndex = self.keywords if memory is None else memory
        with Stage("keyword"):
            keyword.update(scorer.keyword_scores(request.tenant_id, request.query, missing_keyword))
        return _Scores(sorted(vector.keys() | keyword.keys()), vector, keyword)

    def _complete_vector(
        self, target: _Target, vector: dict[int, float], missing: set[int], query: np.ndarray
    ) -> None:
        """Cosines of keyword-only candidates, from the vectors the index holds (ids it has not seen yet, or no
        longer has, keep 0)."""
        if not missing:
            return
        found = self.index.vectors(target.partitions, sorted(missing))
        if not len(found.ids):
            return
        norms = np.maximum(np.linalg.norm(found.vectors, axis=1) * np.linalg.norm(query), 1e-12)
        for cid, score in zip(found.ids.tolist(), ((found.vectors @ query) / norms).tolist(), strict=True):
            vector[cid] = score

    def hydrate(self, request: SearchRequest, ranked: Ranked, hidden: Hidden = NOTHING_HIDDEN) -> list[Hit]:
        """Attach chunk and document fields; ids deleted since the index saw them drop out here, and so do
        chunks of hidden documents that the index had not replaced yet when a rewrite gave them new ids."""
        with Stage("hydrate"):
            chunks = self._chunks(request.tenant_id, [item.chunk_id for item in ranked])
            shown = [
                (item, chunk)
                for item in ranked
                if (chunk := chunks.get(item.chunk_id)) is not None
                and chunk.document_id not in hidden.documents
            ]
        with Stage("snippets"):
            stems = query_stems(request.query)
            return [_hit(item, chunk, snippet_of(chunk.text, stems)) for item, chunk in shown]

    def _chunks(self, tenant_id: str, ids: list[int]) -> dict[int, Chunk]:
        """Chunks from the cache, the rest from the store. Chunk ids are never reused and a chunk never changes,
        so an entry can only go stale by deletion: the owner clears the cache whenever the index applies changes."""
        cached, missing = self.chunk_cache.get_many(ids)
        found = {cid: chunk for cid, chunk in cached.items() if chunk.tenant_id == tenant_id}
        if missing:
            fetched = self.documents.get_chunks(tenant_id, missing)
            for cid, chunk in fetched.items():
                self.chunk_cache.put(cid, chunk)
            found.update(fetched)
        return found


def _hit(item: RankedChunk, chunk: Chunk, snippet: Snippet) -> Hit:
    return Hit(
        chunk,
        item.score,
        snippet.text,
        snippet.highlights,
        item.vector_score,
        item.keyword_score,
        item.relevance,
    )


class _Scores(NamedTuple):
    """Hybrid candidates: their ids in ascending order and each retriever's scores (absent: 0)."""

    ids: list[int]
    vector: dict[int, float]
    keyword: dict[int, float]

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """Both scores of every candidate, in `ids` order."""
        vector, keyword = self.vector, self.keyword
        return (
            np.array([vector.get(cid, 0.0) for cid in self.ids], dtype=np.float64),
            np.array([keyword.get(cid, 0.0) for cid in self.ids], dtype=np.float64),
        )


@dataclass(frozen=True, slots=True)
class _Target:
    """The vector side of one search: a query space and the partitions of the searched collections in it."""

    space: QuerySpace
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
    return [item._replace(score=score) for score, _, item in merged[:k]]
