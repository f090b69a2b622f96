"""Pairs resolved in one collection and turned into vectors: the queries as the embedder sees them, their
positive chunks, and a pool of hard negatives from the current retrieval, all read from the vector index (the
corpus is never embedded again; only passages given as text are).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lore.intelligence.adapter_model import Examples
from lore.intelligence.adapter_pairs import Pair
from lore.models import Chunk, SearchFilters, partition_key

if TYPE_CHECKING:
    from lore.service import Lore

MAX_QUERIES = 5000  # the newest distinct queries kept
MAX_POOL = 30_000  # chunks of hard negatives, about: each query's share shrinks as queries grow
HARD_NEGATIVES = (10, 50)  # fewest and most per query
BATCH = 500
PROGRESS_EVERY = 50
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class LabelledQuery:
    """A distinct query with what answers it in the collection."""

    text: str
    vector: np.ndarray
    chunks: tuple[int, ...]  # positive chunks
    documents: frozenset[str]  # their documents, which a held-out evaluation looks for in search results
    passages: tuple[np.ndarray, ...]  # vectors of positives given as text


@dataclass(frozen=True, slots=True)
class Target:
    """The collection an adapter is trained for, as the index holds it now."""

    lore: Lore
    tenant_id: str
    collection: str
    model: str

    @property
    def partitions(self) -> list[str]:
        return [partition_key(self.tenant_id, self.collection, self.model)]


def resolve(
    target: Target, pairs: Sequence[Pair], on_progress: Progress | None = None
) -> list[LabelledQuery]:
    """The pairs grouped by query (the newest `MAX_QUERIES`), each with its positives in the collection;
    pairs whose document or chunk is not in it are left out. `on_progress(done, total)` hears of the queries
    embedded."""
    grouped: dict[str, list[Pair]] = {}
    for pair in pairs:
        grouped.setdefault(" ".join(pair.query.split()), []).append(pair)
    newest = list(grouped.items())[-MAX_QUERIES:]
    positives = _Positives.of(target, [pair for _, group in newest for pair in group])
    embedder = target.lore.models.embedder_for(target.model)
    queries = []
    for done, (text, group) in enumerate(newest, start=1):
        if on_progress and done % PROGRESS_EVERY == 0:
            on_progress(done, len(newest))
        found = sorted({chunk for pair in group for chunk in positives.chunks(pair)})
        texts = [pair.text for pair in group if pair.text is not None]
        if not found and not texts:
            continue
        documents = frozenset(positives.document_of[chunk] for chunk in found)
        passages = tuple(embedder.embed_documents(texts)) if texts else ()
        vector = target.lore.models.embed_query(target.model, text)
        queries.append(LabelledQuery(text, vector, tuple(found), documents, passages))
    return queries


def examples(target: Target, queries: Sequence[LabelledQuery]) -> Examples:
    """The queries' vectors and positives as rows of one pool, with each query's hard negatives in it."""
    per_query = int(np.clip(MAX_POOL // max(len(queries), 1), *HARD_NEGATIVES))
    index = target.lore.index
    chunk_ids = {c for q in queries for c in q.chunks}
    for query in queries:
        chunk_ids.update(hit.chunk_id for hit in index.search(target.partitions, query.vector, per_query))
    found = index.vectors(target.partitions, sorted(chunk_ids))
    row_of = {int(c): i for i, c in enumerate(found.ids.tolist())}
    labels = _document_labels(target, found.ids.tolist())
    pool, documents = [found.vectors], [labels]
    positives = []
    for query in queries:
        rows = [row_of[c] for c in query.chunks if c in row_of]
        start = sum(len(block) for block in pool)
        rows.extend(range(start, start + len(query.passages)))
        if query.passages:
            pool.append(np.stack(query.passages))
            documents.append(-np.arange(start, start + len(query.passages)) - 1)  # documents of their own
        positives.append(np.array(rows, dtype=np.int64))
    vectors = np.stack([q.vector for q in queries]).astype(np.float32)
    return Examples(vectors, positives, np.concatenate(pool).astype(np.float32), np.concatenate(documents))


def split(queries: Sequence[LabelledQuery], held_out: float, validation: float) -> tuple[list[int], ...]:
    """(training, validation, held-out) rows: queries ordered by a hash of their text, so a query always falls
    in the same split and the same pairs train the same adapter."""
    order = sorted(range(len(queries)), key=lambda i: hashlib.sha256(queries[i].text.encode()).digest())
    n_held = max(1, round(len(order) * held_out))
    n_validation = max(1, round(len(order) * validation))
    held, rest = order[:n_held], order[n_held:]
    return sorted(rest[n_validation:]), sorted(rest[:n_validation]), sorted(held)


@dataclass(frozen=True, slots=True)
class _Positives:
    """The chunks the pairs name that are in the collection: named ones, and every chunk of named documents."""

    document_of: dict[int, str]  # chunk -> its document
    chunks_of: dict[str, list[int]]  # document -> its chunks

    @classmethod
    def of(cls, target: Target, pairs: list[Pair]) -> _Positives:
        documents = sorted({p.document_id for p in pairs if p.document_id is not None})
        ids = {p.chunk_id for p in pairs if p.chunk_id is not None}
        for start in range(0, len(documents), BATCH):
            filters = SearchFilters(document_ids=tuple(documents[start : start + BATCH]))
            ids |= target.lore.store.documents.filter_chunk_ids(
                target.tenant_id, [target.collection], filters
            )
        document_of: dict[int, str] = {}
        chunks_of: dict[str, list[int]] = {}
        for chunk in _stored_chunks(target, sorted(ids)):
            if chunk.collection == target.collection:
                document_of[chunk.id] = chunk.document_id
                chunks_of.setdefault(chunk.document_id, []).append(chunk.id)
        return cls(document_of, chunks_of)

    def chunks(self, pair: Pair) -> list[int]:
        if pair.chunk_id is not None:
            return [pair.chunk_id] if pair.chunk_id in self.document_of else []
        return self.chunks_of.get(pair.document_id or "", [])


def _document_labels(target: Target, chunk_ids: list[int]) -> np.ndarray:
    """A number for each chunk's document, so that a ranking counts each document once."""
    numbers: dict[str, int] = {}
    document_of = {chunk.id: chunk.document_id for chunk in _stored_chunks(target, chunk_ids)}
    return np.array(
        [numbers.setdefault(document_of.get(c, f"chunk:{c}"), len(numbers)) for c in chunk_ids],
        dtype=np.int64,
    )


def _stored_chunks(target: Target, chunk_ids: list[int]) -> Iterator[Chunk]:
    store = target.lore.store.documents
    for start in range(0, len(chunk_ids), BATCH):
        yield from store.get_chunks(target.tenant_id, chunk_ids[start : start + BATCH]).values()
