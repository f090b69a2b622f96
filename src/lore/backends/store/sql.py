"""`SqlStore`: the `Store` contract in dialect-neutral SQLAlchemy Core.

A backend subclass supplies the engine, how a write transaction starts, and the keyword index (SQLite FTS5,
PostgreSQL tsvector): the `_`-prefixed abstract methods. Everything else, including every write's order of
steps, is shared, so the backends cannot drift apart.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import numpy as np
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite

from lore.backends.store import codec, paging, queries, records
from lore.backends.store.schema import (
    changes,
    chunks,
    collections,
    document_tags,
    documents,
    embeddings,
    tenants,
)
from lore.core import keywords
from lore.errors import Conflict, InvalidInput
from lore.models import (
    Change,
    Chunk,
    ChunkDraft,
    CollectionInfo,
    CollectionModels,
    Document,
    DocumentDraft,
    KnownDocument,
    MetadataValue,
    Page,
    SearchFilters,
    partition_key,
)

BATCH = 2000  # ids per IN list
DOCUMENT_FIELDS = [column for column in documents.c if column.name != "text"]
_CHUNK_FIELDS = [*chunks.c, documents.c.title, documents.c.source, documents.c.tags, documents.c["metadata"]]


def _now() -> datetime:
    return datetime.now(UTC)


def keyword_text(title: str, heading_path: Sequence[str], text: str) -> str:
    """What the keyword index holds for a chunk: its document title and headings give short chunks context."""
    return keywords.index_text("\n".join([title, *heading_path, text]))


class SqlStore(abc.ABC):
    """Shared implementation of `lore.interfaces.Store` over a SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # --- what a backend provides -------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One write transaction; backends override it to serialise writers their own way."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """One read transaction: a consistent snapshot for the statements inside it."""
        with self.engine.connect() as conn:
            yield conn

    @abc.abstractmethod
    def _index_keywords(self, conn: sa.Connection, rows: Sequence[tuple[int, str]]) -> None:
        """Add (chunk id, `keyword_text`) rows to the keyword index."""

    @abc.abstractmethod
    def _unindex_keywords(self, conn: sa.Connection, chunk_ids: Sequence[int]) -> None: ...

    @abc.abstractmethod
    def _keyword_select(
        self,
        conn: sa.Connection,
        terms: Sequence[str],
        conditions: Sequence[queries.Condition],
        only_ids: Sequence[int] | None = None,
    ) -> sa.Select[Any]:
        """(chunk id, score) of the chunks matching any term and every condition on `chunks`, best first;
        `only_ids` narrows to those chunks (scoring only them is the point: scoring is the expensive part).
        `conn` is the reading connection, for a backend that must look something up to build the query."""

    @abc.abstractmethod
    def _metadata_equals(self, key: str, value: MetadataValue) -> queries.Condition:
        """`documents.metadata[key]` equals `value`, type included (the string "1" is not the number 1)."""

    # --- schema ------------------------------------------------------------------------------------------

    def migrate(self) -> None:
        config = Config()
        location = str(resources.files("lore.migrations")).replace("%", "%%")
        config.set_main_option("script_location", location)
        config.set_main_option("path_separator", "os")
        with self._write() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()

    # --- collections -------------------------------------------------------------------------------------

    def ensure_collection(self, tenant_id: str, collection: str) -> None:
        with self._write() as conn:
            self._ensure_collection(conn, tenant_id, collection)

    def list_collections(self, tenant_id: str) -> list[CollectionInfo]:
        query = queries.collection_counts(tenant_id)
        with self._read() as conn:
            return [CollectionInfo(name, int(docs), int(n)) for name, docs, n in conn.execute(query)]

    # --- documents ---------------------------------------------------------------------------------------

    def write_document(
        self,
        draft: DocumentDraft,
        chunks: Sequence[ChunkDraft],
        vectors: Mapping[str, np.ndarray],
        model_id: str,
    ) -> Document:
        needed = {chunk.content_hash for chunk in chunks}
        dim, blobs = codec.encode_vectors({h: v for h, v in vectors.items() if h in needed})
        now = _now()
        with self._write() as conn:
            self._ensure_collection(conn, draft.tenant_id, draft.collection)
            self._check_model(conn, draft.tenant_id, draft.collection, model_id)
            document = self._upsert_document(conn, draft, len(chunks), now)
            self._remove_chunks(conn, draft.tenant_id, chunks_of_document=document.id)
            self._cache_vectors(conn, model_id, dim, blobs)
            self._check_vectors(conn, model_id, needed)
            self._add_chunks(conn, document.id, draft, chunks, model_id)
            self._replace_tags(conn, draft.tenant_id, document.id, draft.tags)
        return document

    def delete_document(self, tenant_id: str, document_id: str) -> bool:
        with self._write() as conn:
            self._remove_chunks(conn, tenant_id, chunks_of_document=document_id)
            tags = sa.and_(document_tags.c.document_id == document_id, document_tags.c.tenant_id == tenant_id)
            conn.execute(sa.delete(document_tags).where(tags))
            where = sa.and_(documents.c.id == document_id, documents.c.tenant_id == tenant_id)
            return conn.execute(sa.delete(documents).where(where)).rowcount > 0

    def get_document(self, tenant_id: str, document_id: str, *, with_text: bool = False) -> Document | None:
        fields = [*DOCUMENT_FIELDS, documents.c.text] if with_text else DOCUMENT_FIELDS
        query = sa.select(*fields).where(documents.c.id == document_id, documents.c.tenant_id == tenant_id)
        with self._read() as conn:
            row = conn.execute(query).first()
        return records.document(row) if row is not None else None

    def list_documents(
        self, tenant_id: str, collection: str | None, limit: int, cursor: str | None
    ) -> Page[Document]:
        query = sa.select(*DOCUMENT_FIELDS).where(documents.c.tenant_id == tenant_id)
        if collection is not None:
            query = query.where(documents.c.collection == collection)
        query = paging.newest_first(query, documents, limit, cursor)
        with self._read() as conn:
            return paging.page([records.document(row) for row in conn.execute(query)], limit)

    def document_hashes(self, tenant_id: str, collection: str) -> dict[str, KnownDocument]:
        query = sa.select(documents.c.source, documents.c.id, documents.c.content_hash).where(
            documents.c.tenant_id == tenant_id, documents.c.collection == collection
        )
        with self._read() as conn:
            return {source: KnownDocument(doc_id, digest) for source, doc_id, digest in conn.execute(query)}

    # --- vectors -----------------------------------------------------------------------------------------

    def cached_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._read() as conn:
            for batch in codec.batched(list(dict.fromkeys(hashes)), BATCH):
                query = sa.select(embeddings.c.content_hash, embeddings.c.vector).where(
                    embeddings.c.model_id == model_id, embeddings.c.content_hash.in_(batch)
                )
                found.update((digest, codec.decode_vector(blob)) for digest, blob in conn.execute(query))
        return found

    def chunk_vectors(self, model_id: str, chunk_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        rows: list[sa.Row[Any]] = []
        with self._read() as conn:
            for batch in codec.batched(sorted(set(chunk_ids)), BATCH):
                rows += conn.execute(self._vectors_of(model_id).where(chunks.c.id.in_(batch)))
        return records.id_matrix(rows)

    def iter_partition_vectors(
        self, partition: str, batch_size: int = 4096
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        after = 0
        while True:
            query = (
                queries.vectors()
                .where(chunks.c.partition == partition, chunks.c.id > after)
                .limit(batch_size)
            )
            with self._read() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            after = rows[-1][0]
            yield records.id_matrix(rows)

    def partitions(self) -> list[str]:
        query = sa.select(chunks.c.partition).distinct().order_by(chunks.c.partition)
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    # --- search ------------------------------------------------------------------------------------------

    def keyword_search(
        self,
        tenant_id: str,
        query: str,
        k: int,
        collections: Sequence[str] | None = None,
        filters: SearchFilters | None = None,
    ) -> list[tuple[int, float]]:
        terms = keywords.query_terms(query)
        if not terms or k < 1:
            return []
        conditions = queries.chunk_conditions(tenant_id, collections, filters, self._metadata_equals)
        with self._read() as conn:
            rows = conn.execute(self._keyword_select(conn, terms, conditions).limit(k))
            return [(int(chunk_id), float(score)) for chunk_id, score in rows]

    def keyword_scores(self, tenant_id: str, query: str, chunk_ids: Sequence[int]) -> dict[int, float]:
        terms = keywords.query_terms(query)
        scores: dict[int, float] = {}
        if not terms:
            return scores
        with self._read() as conn:
            for batch in codec.batched(sorted(set(chunk_ids)), BATCH):
                tenant = [chunks.c.tenant_id == tenant_id]
                select = self._keyword_select(conn, terms, tenant, only_ids=batch)
                rows = conn.execute(select)
                scores.update((int(chunk_id), float(score)) for chunk_id, score in rows)
        return scores

    def filter_chunk_ids(
        self, tenant_id: str, collections: Sequence[str] | None, filters: SearchFilters
    ) -> set[int]:
        query = sa.select(chunks.c.id).where(
            *queries.chunk_conditions(tenant_id, collections, filters, self._metadata_equals)
        )
        with self._read() as conn:
            return set(conn.execute(query).scalars())

    def get_chunks(self, tenant_id: str, chunk_ids: Sequence[int]) -> dict[int, Chunk]:
        found: dict[int, Chunk] = {}
        joined = chunks.join(documents, documents.c.id == chunks.c.document_id)
        with self._read() as conn:
            for batch in codec.batched(sorted(set(chunk_ids)), BATCH):
                query = sa.select(*_CHUNK_FIELDS).select_from(joined)
                query = query.where(chunks.c.tenant_id == tenant_id, chunks.c.id.in_(batch))
                found.update((row.id, records.chunk(row)) for row in conn.execute(query))
        return found

    # --- changes -----------------------------------------------------------------------------------------

    def changes_since(self, seq: int, limit: int = 10_000) -> list[Change]:
        query = sa.select(changes).where(changes.c.seq > seq).order_by(changes.c.seq).limit(limit)
        with self._read() as conn:
            return [Change(row.seq, row.op, row.chunk_id, row.partition) for row in conn.execute(query)]

    def last_seq(self) -> int:
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(changes.c.seq), 0))).scalar_one())

    # --- steps of a write --------------------------------------------------------------------------------

    def _insert(self, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT that can say ON CONFLICT: the one clause SQLAlchemy spells per dialect."""
        if self.engine.dialect.name == "sqlite":
            return sqlite.insert(table)
        return postgresql.insert(table)

    def _ensure_collection(self, conn: sa.Connection, tenant_id: str, collection: str) -> None:
        now = _now()
        conn.execute(self._insert(tenants).values(id=tenant_id, created_at=now).on_conflict_do_nothing())
        row = {"tenant_id": tenant_id, "name": collection, "created_at": now}
        conn.execute(self._insert(collections).values(row).on_conflict_do_nothing())

    def _upsert_document(
        self, conn: sa.Connection, draft: DocumentDraft, chunk_count: int, now: datetime
    ) -> Document:
        """Insert, or update in place keeping the id and created_at of the stored version."""
        changed = {
            "title": draft.title,
            "text": draft.text,
            "content_hash": draft.content_hash,
            "tags": list(dict.fromkeys(draft.tags)),
            "metadata": dict(draft.metadata),
            "chunk_count": chunk_count,
            "updated_at": now,
        }
        key = {"tenant_id": draft.tenant_id, "collection": draft.collection, "source": draft.source}
        insert = self._insert(documents).values(id=uuid.uuid4().hex, created_at=now, **key, **changed)
        upsert = insert.on_conflict_do_update(index_elements=list(key), set_=changed)
        return records.document(conn.execute(upsert.returning(*DOCUMENT_FIELDS)).one())

    def _remove_chunks(self, conn: sa.Connection, tenant_id: str, *, chunks_of_document: str) -> None:
        where = sa.and_(chunks.c.document_id == chunks_of_document, chunks.c.tenant_id == tenant_id)
        deleted = conn.execute(sa.delete(chunks).where(where).returning(chunks.c.id, chunks.c.partition))
        removed = sorted((int(chunk_id), str(partition)) for chunk_id, partition in deleted)
        if removed:
            self._unindex_keywords(conn, [chunk_id for chunk_id, _ in removed])
            rows = [{"op": "remove", "chunk_id": chunk_id, "partition": part} for chunk_id, part in removed]
            conn.execute(sa.insert(changes), rows)

    def _cache_vectors(
        self, conn: sa.Connection, model_id: str, dim: int, blobs: Mapping[str, bytes]
    ) -> None:
        if not blobs:
            return
        cached_dim = conn.execute(
            sa.select(embeddings.c.dim).where(embeddings.c.model_id == model_id).limit(1)
        ).scalar()
        if cached_dim is not None and cached_dim != dim:
            raise InvalidInput(
                "vector length differs from the model's cached vectors",
                details={"model_id": model_id, "dim": dim, "cached_dim": cached_dim},
            )
        rows = [{"model_id": model_id, "content_hash": h, "dim": dim, "vector": b} for h, b in blobs.items()]
        conn.execute(self._insert(embeddings).on_conflict_do_nothing(), rows)

    def _check_vectors(self, conn: sa.Connection, model_id: str, needed: set[str]) -> None:
        """Every chunk must be searchable by vector: refuse the write if any hash has no embedding."""
        found: set[str] = set()
        for batch in codec.batched(sorted(needed), BATCH):
            query = sa.select(embeddings.c.content_hash).where(
                embeddings.c.model_id == model_id, embeddings.c.content_hash.in_(batch)
            )
            found.update(conn.execute(query).scalars())
        if missing := needed - found:
            raise InvalidInput(
                "chunks without a vector for this model",
                details={"model_id": model_id, "missing_hashes": sorted(missing)[:10], "count": len(missing)},
            )

    def _add_chunks(
        self,
        conn: sa.Connection,
        document_id: str,
        draft: DocumentDraft,
        drafts: Sequence[ChunkDraft],
        model_id: str,
    ) -> None:
        if not drafts:
            return
        partition = partition_key(draft.tenant_id, draft.collection, model_id)
        rows = [records.chunk_row(document_id, draft, chunk, model_id, partition) for chunk in drafts]
        insert = sa.insert(chunks).returning(chunks.c.id, sort_by_parameter_order=True)
        ids = list(conn.execute(insert, rows).scalars())
        texts = [keyword_text(draft.title, chunk.heading_path, chunk.text) for chunk in drafts]
        self._index_keywords(conn, list(zip(ids, texts, strict=True)))
        added = [{"op": "add", "chunk_id": chunk_id, "partition": partition} for chunk_id in ids]
        conn.execute(sa.insert(changes), added)

    def _replace_tags(
        self, conn: sa.Connection, tenant_id: str, document_id: str, tags: Sequence[str]
    ) -> None:
        conn.execute(sa.delete(document_tags).where(document_tags.c.document_id == document_id))
        rows = [
            {"document_id": document_id, "tenant_id": tenant_id, "tag": tag} for tag in dict.fromkeys(tags)
        ]
        if rows:
            conn.execute(sa.insert(document_tags), rows)

    # --- backup and restore ------------------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[sa.Connection]:
        """One read-only transaction whose statements all see the same moment while writers carry on (a WAL
        read transaction on SQLite, REPEATABLE READ on PostgreSQL): a backup reads every table through it."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn

    @contextmanager
    def bulk_load(self) -> Iterator[sa.Connection]:
        """One write transaction for rows inserted around `write_document` (a restore); the keyword index is
        rebuilt from the chunks inside it, so it commits together with them."""
        with self._write() as conn:
            yield conn
            self._reindex_keywords(conn)

    def _reindex_keywords(self, conn: sa.Connection, batch_size: int = BATCH) -> None:
        """Index every chunk's keywords afresh (each chunk's old rows, if any, are dropped first)."""
        joined = chunks.join(documents, documents.c.id == chunks.c.document_id)
        fields = (chunks.c.id, documents.c.title, chunks.c.heading_path, chunks.c.text)
        after = 0
        while True:
            query = sa.select(*fields).select_from(joined).where(chunks.c.id > after)
            rows = conn.execute(query.order_by(chunks.c.id).limit(batch_size)).all()
            if not rows:
                return
            ids = [int(row.id) for row in rows]
            self._unindex_keywords(conn, ids)
            texts = [keyword_text(row.title, row.heading_path, row.text) for row in rows]
            self._index_keywords(conn, list(zip(ids, texts, strict=True)))
            after = ids[-1]

    # --- embedding versions ------------------------------------------------------------------------------

    def collection_models(self) -> list[CollectionModels]:
        query = sa.select(*_MODEL_FIELDS).where(
            sa.or_(collections.c.model_id.is_not(None), collections.c.pending_model_id.is_not(None))
        )
        with self._read() as conn:
            return [_collection_models(row) for row in conn.execute(query)]

    def start_reembed(
        self, tenant_id: str, collection: str, model_id: str, current_model_id: str
    ) -> CollectionModels:
        with self._write() as conn:
            self._ensure_collection(conn, tenant_id, collection)
            models = self._models_of(conn, tenant_id, collection)
            active = models.active or current_model_id
            if models.pending == model_id:
                return models  # resuming: the partition already holds what was embedded so far
            if models.pending is not None:
                raise Conflict(
                    f"collection {collection!r} is already being re-embedded with {models.pending!r}",
                    details={"collection": collection, "pending_model": models.pending},
                )
            if active == model_id:
                raise Conflict(
                    f"collection {collection!r} already uses {model_id!r}",
                    details={"collection": collection, "model": model_id},
                )
            since = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(changes.c.seq), 0))).scalar_one())
            values = {"model_id": active, "pending_model_id": model_id, "pending_since": since}
            conn.execute(sa.update(collections).where(*_collection_is(tenant_id, collection)).values(values))
            self._add_to_partition(conn, tenant_id, collection, model_id, None)
            return self._models_of(conn, tenant_id, collection)

    def missing_vectors(self, tenant_id: str, collection: str, model_id: str, limit: int) -> list[Chunk]:
        query = (
            sa.select(*_CHUNK_FIELDS)
            .select_from(_missing_join(model_id).join(documents, documents.c.id == chunks.c.document_id))
            .where(*_chunks_of(tenant_id, collection), embeddings.c.content_hash.is_(None))
            .order_by(chunks.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [records.chunk(row) for row in conn.execute(query)]

    def count_missing_vectors(self, tenant_id: str, collection: str, model_id: str) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(_missing_join(model_id))
            .where(*_chunks_of(tenant_id, collection), embeddings.c.content_hash.is_(None))
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def add_model_vectors(
        self, tenant_id: str, collection: str, model_id: str, vectors: Mapping[str, np.ndarray]
    ) -> int:
        if not vectors:
            return 0
        dim, blobs = codec.encode_vectors(vectors)
        with self._write() as conn:
            pending = self._models_of(conn, tenant_id, collection).pending
            if pending != model_id:
                raise Conflict(
                    f"collection {collection!r} is not being re-embedded with {model_id!r}",
                    details={"collection": collection, "model": model_id, "pending_model": pending},
                )
            self._cache_vectors(conn, model_id, dim, blobs)
            return self._add_to_partition(conn, tenant_id, collection, model_id, sorted(blobs))

    def switch_model(self, tenant_id: str, collection: str, model_id: str) -> CollectionModels:
        with self._write() as conn:
            models = self._models_of(conn, tenant_id, collection)
            if models.pending != model_id:
                raise Conflict(
                    f"collection {collection!r} has no re-embedding with {model_id!r} to finish",
                    details={"collection": collection, "model": model_id, "pending_model": models.pending},
                )
            missing = conn.execute(
                sa.select(sa.func.count())
                .select_from(_missing_join(model_id))
                .where(*_chunks_of(tenant_id, collection), embeddings.c.content_hash.is_(None))
            ).scalar_one()
            if missing:
                raise Conflict(
                    "chunks without a vector of the new model remain",
                    details={"collection": collection, "model": model_id, "missing": int(missing)},
                )
            self._reconcile_partition(conn, tenant_id, collection, model_id, models.pending_since or 0)
            model_seq = int(
                conn.execute(sa.select(sa.func.coalesce(sa.func.max(changes.c.seq), 0))).scalar_one()
            )
            self._retire_partitions(conn, tenant_id, collection, model_id)
            values = {
                "model_id": model_id,
                "pending_model_id": None,
                "pending_since": None,
                "model_seq": model_seq,
            }
            conn.execute(sa.update(collections).where(*_collection_is(tenant_id, collection)).values(values))
            return self._models_of(conn, tenant_id, collection)

    def iter_model_vectors(
        self, tenant_id: str, collection: str, model_id: str, batch_size: int = 4096
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        after = 0
        while True:
            query = self._vectors_of(model_id).where(*_chunks_of(tenant_id, collection), chunks.c.id > after)
            with self._read() as conn:
                rows = conn.execute(query.limit(batch_size)).all()
            if not rows:
                return
            after = rows[-1][0]
            yield records.id_matrix(rows)

    def _vectors_of(self, model_id: str) -> sa.Select[Any]:
        """(chunk id, dim, vector blob) of chunks that have a vector of `model_id`, whatever their active model."""
        joined = chunks.join(
            embeddings,
            sa.and_(embeddings.c.model_id == model_id, embeddings.c.content_hash == chunks.c.content_hash),
        )
        return (
            sa.select(chunks.c.id, embeddings.c.dim, embeddings.c.vector)
            .select_from(joined)
            .order_by(chunks.c.id)
        )

    def _models_of(self, conn: sa.Connection, tenant_id: str, collection: str) -> CollectionModels:
        row = conn.execute(sa.select(*_MODEL_FIELDS).where(*_collection_is(tenant_id, collection))).first()
        return _collection_models(row) if row is not None else CollectionModels(tenant_id, collection, None)

    def _check_model(self, conn: sa.Connection, tenant_id: str, collection: str, model_id: str) -> None:
        """A collection's chunks all carry its active model: a writer that has not seen a switch must retry."""
        recorded = self._models_of(conn, tenant_id, collection).active
        if recorded is not None and recorded != model_id:
            raise Conflict(
                f"collection {collection!r} is embedded with {recorded!r}, not {model_id!r}",
                details={"collection": collection, "model": recorded, "written_model": model_id},
            )

    def _add_to_partition(
        self,
        conn: sa.Connection,
        tenant_id: str,
        collection: str,
        model_id: str,
        hashes: Sequence[str] | None,
    ) -> int:
        """Append `add` changes of the model's partition for the collection's chunks that have its vector."""
        partition = partition_key(tenant_id, collection, model_id)
        total = 0
        for batch in [None] if hashes is None else codec.batched(list(hashes), BATCH):
            select = (
                self._vectors_of(model_id)
                .with_only_columns(sa.literal("add"), chunks.c.id, sa.literal(partition))
                .where(*_chunks_of(tenant_id, collection))
            )
            if batch is not None:
                select = select.where(chunks.c.content_hash.in_(batch))
            insert = sa.insert(changes).from_select(["op", "chunk_id", "partition"], select)
            total += len(conn.execute(insert.returning(changes.c.seq)).all())
        return total

    def _reconcile_partition(
        self, conn: sa.Connection, tenant_id: str, collection: str, model_id: str, since: int
    ) -> None:
        """Make the partition's changes since the re-embedding began add exactly the collection's chunks: a
        chunk deleted meanwhile is removed, one whose vector arrived outside `add_model_vectors` is added."""
        partition = partition_key(tenant_id, collection, model_id)
        history = sa.select(changes.c.op, changes.c.chunk_id).where(
            changes.c.seq > since, changes.c.partition == partition
        )
        member: set[int] = set()
        for op, chunk_id in conn.execute(history.order_by(changes.c.seq)):
            (member.add if op == "add" else member.discard)(int(chunk_id))
        current = set(
            conn.execute(sa.select(chunks.c.id).where(*_chunks_of(tenant_id, collection))).scalars()
        )
        rows = [{"op": "add", "chunk_id": i, "partition": partition} for i in sorted(current - member)]
        rows += [{"op": "remove", "chunk_id": i, "partition": partition} for i in sorted(member - current)]
        if rows:
            conn.execute(sa.insert(changes), rows)

    def _retire_partitions(self, conn: sa.Connection, tenant_id: str, collection: str, model_id: str) -> None:
        """Move the collection's chunks to the new model's partition; every index drops the old vectors."""
        old = conn.execute(
            sa.select(chunks.c.id, chunks.c.partition)
            .where(*_chunks_of(tenant_id, collection), chunks.c.model_id != model_id)
            .order_by(chunks.c.id)
        ).all()
        partition = partition_key(tenant_id, collection, model_id)
        conn.execute(
            sa.update(chunks)
            .where(*_chunks_of(tenant_id, collection))
            .values(model_id=model_id, partition=partition)
        )
        for batch in codec.batched(old, BATCH):
            rows = [{"op": "remove", "chunk_id": int(i), "partition": str(p)} for i, p in batch]
            conn.execute(sa.insert(changes), rows)


_MODEL_FIELDS = (
    collections.c.tenant_id,
    collections.c.name,
    collections.c.model_id,
    collections.c.pending_model_id,
    collections.c.pending_since,
    collections.c.model_seq,
)


def _collection_models(row: sa.Row[Any]) -> CollectionModels:
    tenant_id, name, active, pending, since, model_seq = row
    return CollectionModels(tenant_id, name, active, pending, since, int(model_seq or 0))


def _collection_is(tenant_id: str, collection: str) -> list[sa.ColumnElement[bool]]:
    return [collections.c.tenant_id == tenant_id, collections.c.name == collection]


def _chunks_of(tenant_id: str, collection: str) -> list[sa.ColumnElement[bool]]:
    return [chunks.c.tenant_id == tenant_id, chunks.c.collection == collection]


def _missing_join(model_id: str) -> sa.Join:
    """Chunks outer-joined with their vector of `model_id` (NULL where none is cached yet)."""
    return chunks.outerjoin(
        embeddings,
        sa.and_(embeddings.c.model_id == model_id, embeddings.c.content_hash == chunks.c.content_hash),
    )
