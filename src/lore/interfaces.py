"""Contracts of Lore's swappable parts. Each backend implements one; the contract tests in tests/contracts run
the same bodies against every implementation. The database's roles (`Documents`, `ChangeFeed`, `VectorSource`,
`KeywordSearch`, `Reembedding`) are the repositories of `lore.backends.store.database.Database`.

    >>> db.documents.write_document(draft, chunks, vectors, model_id="minilm-l6-v2@int8")  # atomic replace
    >>> index.search(["default/default/minilm-l6-v2@int8"], query_vector, k=10)
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from lore.models import (
    Change,
    Chunk,
    ChunkDraft,
    CollectionInfo,
    CollectionModels,
    Document,
    DocumentDraft,
    DocumentWrite,
    IdVectors,
    KnownDocument,
    Page,
    Readers,
    ScoredChunk,
    SearchFilters,
)

if TYPE_CHECKING:
    import numpy as np


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors; `model_id` names the model *and* its numeric variant, so
    vectors of different variants are never mixed in one index."""

    model_id: str
    dim: int
    max_tokens: int
    unrelated_below: float | None
    """Cosine under which a query and a passage are unrelated (None: not calibrated for this model). Answers
    treat a retrieval whose best passage is under it as having found nothing."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Bulk embedding for ingestion: shape (len(texts), dim), float32, L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """One query, on one thread: shape (dim,)."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many queries at once, as `embed_query` embeds each (its prefix, one thread), in batches: shape
        (len(texts), dim). Analytics embed past questions with it."""
        ...

    def coverage(self, text: str) -> float:
        """0..1: how well the model understands this query's language (1 for a multilingual model); hybrid
        search leans on keywords where it is low."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model would see before truncation, used by the chunker to size chunks."""
        ...


class ChangeFeed(Protocol):
    """The store's change sequence: every write appends numbered `add`/`remove` changes of chunks in index
    partitions, which derived indexes replay to catch up (after a restart, or writes of other processes)."""

    def changes_since(self, seq: int, limit: int = 10_000) -> list[Change]:
        """Changes with a sequence number above `seq`, oldest first."""
        ...

    def last_seq(self) -> int: ...


class ChunkSource(Protocol):
    """Chunks by id, with their document's display fields: what search hydrates its hits from."""

    def get_chunks(self, tenant_id: str, chunk_ids: Sequence[int]) -> dict[int, Chunk]:
        """Ids that no longer exist are absent."""
        ...


class VectorSource(Protocol):
    """Stored embeddings: the vector index is derived from them, and ingestion reuses them by content hash."""

    def cached_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Embeddings already computed for these content hashes by this model."""
        ...

    def chunk_vectors(self, model_id: str, chunk_ids: Sequence[int]) -> IdVectors:
        """The given chunks that exist and have a vector of this model."""
        ...

    def iter_partition_vectors(self, partition: str, batch_size: int = 4096) -> Iterator[IdVectors]:
        """All vectors of one partition, in batches, to rebuild an index."""
        ...

    def partitions(self) -> list[str]:
        """Every partition (tenant/collection/model) that has vectors."""
        ...

    def iter_model_vectors(
        self, tenant_id: str, collection: str, model_id: str, batch_size: int = 4096
    ) -> Iterator[IdVectors]:
        """The collection's chunks that have a vector of `model_id`, to rebuild a pending partition."""
        ...


class KeywordSearch(Protocol):
    """The store's keyword index (SQLite FTS5, PostgreSQL tsvector), BM25-ranked."""

    def keyword_search(
        self,
        tenant_id: str,
        query: str,
        k: int,
        collections: Sequence[str] | None = None,
        filters: SearchFilters | None = None,
        readers: Readers = None,
    ) -> list[ScoredChunk]:
        """Best first, among the chunks `readers` may read (None: every chunk)."""
        ...

    def keyword_scores(self, tenant_id: str, query: str, chunk_ids: Sequence[int]) -> dict[int, float]:
        """BM25 scores of the given chunks (absent: no term matched)."""
        ...


class Documents(ChunkSource, Protocol):
    """Collections, documents and their chunks. Every method is tenant-scoped; every write is one transaction.
    Reads take the `readers` they serve (None: every document) and leave out what those may not read.

    Chunk ids are integers assigned by the store and never reused: they are the labels of the vector index.
    """

    def ensure_collection(self, tenant_id: str, collection: str) -> None: ...

    def list_collections(self, tenant_id: str, readers: Readers = None) -> list[CollectionInfo]:
        """Name order; the counts are of the documents `readers` may read."""
        ...

    def delete_collection(self, tenant_id: str, collection: str) -> int | None:
        """The collection and all its documents, at once: how many documents went (None: no such collection)."""
        ...

    def write_document(
        self,
        draft: DocumentDraft,
        chunks: Sequence[ChunkDraft],
        vectors: Mapping[str, np.ndarray],
        model_id: str,
    ) -> Document:
        """Insert or atomically replace the document with the same (tenant, collection, source).

        `vectors` maps chunk content hashes to embeddings of `model_id`; hashes already cached may be missing.
        Readers see the old version or the new one, never a mix. `Conflict` if the collection's recorded
        model is another one (a re-embedding switched it); `SourceTaken` if the stored document is neither
        the draft's author's nor the author an admin. The draft's access, if any, replaces the stored one.
        """
        ...

    def write_documents(self, writes: Sequence[DocumentWrite]) -> list[Document]:
        """`write_document` for each of `writes`, all in one transaction: all are written or none is. A source
        named twice is written once, with its last version; the result has a document for every write."""
        ...

    def delete_document(self, tenant_id: str, document_id: str, readers: Readers = None) -> bool:
        """False if there is no such document, or `readers` may not read it."""
        ...

    def get_document(
        self, tenant_id: str, document_id: str, *, with_text: bool = False, readers: Readers = None
    ) -> Document | None: ...

    def list_documents(
        self,
        tenant_id: str,
        collections: Sequence[str] | None,
        limit: int,
        cursor: str | None,
        readers: Readers = None,
    ) -> Page[Document]:
        """Newest first; `cursor` is the opaque `next_cursor` of the previous page."""
        ...

    def readable_collections(
        self, tenant_id: str, document_ids: Sequence[str], readers: Readers = None
    ) -> dict[str, str]:
        """document id -> collection, of those of `document_ids` that exist and `readers` may read."""
        ...

    def document_hashes(
        self, tenant_id: str, collection: str, sources: Sequence[str] | None = None
    ) -> dict[str, KnownDocument]:
        """source -> what is stored of it (of every source, or of `sources`), to skip unchanged files and find
        deleted ones."""
        ...

    def filter_chunk_ids(
        self,
        tenant_id: str,
        collections: Sequence[str] | None,
        filters: SearchFilters,
        readers: Readers = None,
    ) -> set[int]:
        """Ids of the chunks that pass a filter and `readers` may read, for filtered vector search."""
        ...


class Reembedding(Protocol):
    """Embedding versions: a collection's active model, and the pending one a re-embedding builds into its own
    partition through `add` changes, until `switch_model` makes it active and retires the old partition."""

    def collection_models(self) -> list[CollectionModels]:
        """Collections with a recorded active or pending model (the others use the configured default)."""
        ...

    def start_reembed(
        self, tenant_id: str, collection: str, model_id: str, current_model_id: str
    ) -> CollectionModels:
        """Make `model_id` the collection's pending model (recording `current_model_id` as active if none is)
        and add the chunks whose vectors of it are cached to its partition. Same model again: a no-op."""
        ...

    def missing_vectors(self, tenant_id: str, collection: str, model_id: str, limit: int) -> list[Chunk]:
        """Up to `limit` of the collection's chunks without a cached vector of `model_id`, by id."""
        ...

    def count_missing_vectors(self, tenant_id: str, collection: str, model_id: str) -> int: ...

    def add_model_vectors(
        self, tenant_id: str, collection: str, model_id: str, vectors: Mapping[str, np.ndarray]
    ) -> int:
        """Cache vectors (by content hash) of the collection's pending model and add the chunks that have them
        to its partition, in one transaction; returns the changes appended. Conflict if it is not pending."""
        ...

    def switch_model(self, tenant_id: str, collection: str, model_id: str) -> CollectionModels:
        """In one transaction: make the pending model active (Conflict while chunks lack its vector), move the
        chunks to its partition, and append `remove` changes for their old partition."""
        ...


class VectorIndex(Protocol):
    """Approximate nearest neighbours by cosine similarity, partitioned by tenant/collection/model.

    Derived from the store: `applied_seq` says up to which change it is current, and `save` persists both the
    vectors and that number atomically, so a restarted process replays only what is newer.
    """

    def add(self, partition: str, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, partition: str, ids: Sequence[int]) -> None: ...

    def search(
        self,
        partitions: Sequence[str],
        query: np.ndarray,
        k: int,
        allowed: Collection[int] | None = None,
    ) -> list[ScoredChunk]:
        """(chunk id, cosine similarity) best first over the union of the partitions."""
        ...

    def vectors(self, partitions: Sequence[str], ids: Sequence[int]) -> IdVectors:
        """The vectors of those `ids` held in any of the partitions, in `ids` order; absent ids are skipped.
        Hybrid search scores keyword-only candidates with them instead of a store round trip."""
        ...

    def count(self, partition: str) -> int: ...

    @property
    def applied_seq(self) -> int: ...

    def mark_applied(self, seq: int) -> None: ...

    def save(self) -> None: ...

    def clear(self) -> None: ...

    def close(self) -> None:
        """Release what the index holds open (connections); what was saved stays."""
        ...
