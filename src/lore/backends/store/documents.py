"""`SqlDocuments`, the database's `documents` repository (`lore.interfaces.Documents`).

A write of a batch of documents is one transaction over several tables, in this order: the collections, a
check of their recorded models, the new vectors into the cache (and a check that every chunk has one), the
document rows, the old chunks out (keyword rows, `remove` changes), the new chunks in (keyword rows, `add`
changes), the tags, the access grants.

The document row is written by one INSERT ... ON CONFLICT DO UPDATE whose update is conditional on the writer
owning the stored document (or being an admin), so two writers racing for one source cannot slip past the
check: the loser's statement updates nothing, and its write fails with `SourceTaken`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lore.backends.store import access_records, codec, paging, queries, rows
from lore.backends.store.schema import changes, chunks, collections, document_tags, documents, embeddings
from lore.errors import Conflict, InvalidInput, SourceTaken
from lore.models import (
    Chunk,
    ChunkDraft,
    CollectionInfo,
    Document,
    DocumentDraft,
    DocumentWrite,
    KnownDocument,
    Page,
    Readers,
    SearchFilters,
    partition_key,
    utcnow,
)
from lore.names import no_collection

if TYPE_CHECKING:
    import numpy as np

    from lore.backends.store.database import Database


def named_collections(known: Sequence[CollectionInfo], names: Sequence[str]) -> list[CollectionInfo]:
    """The collections `names` names, in that order, out of the `known` ones; `NotFound` names the first that
    is not there and lists those that are."""
    by_name = {info.name: info for info in known}
    for name in names:
        if name not in by_name:
            raise no_collection(name, by_name)
    return [by_name[name] for name in names]


def _of_document(document_id: str) -> queries.Condition:
    return chunks.c.document_id == document_id


def _source_key(draft: DocumentDraft) -> tuple[str, str, str]:
    """What a document is replaced by: a batch naming one source twice writes its last version only."""
    return draft.tenant_id, draft.collection, draft.source


def _encode_by_model(writes: Sequence[DocumentWrite]) -> dict[str, tuple[int, dict[str, bytes], set[str]]]:
    """Per model: the vectors' length, the blobs of the vectors the chunks use, and the hashes they need."""
    needed: dict[str, set[str]] = {}
    vectors: dict[str, dict[str, np.ndarray]] = {}
    for write in writes:
        hashes = {chunk.content_hash for chunk in write.chunks}
        needed.setdefault(write.model_id, set()).update(hashes)
        mine = vectors.setdefault(write.model_id, {})
        mine.update((h, v) for h, v in write.vectors.items() if h in hashes)
    return {model: (*codec.encode_vectors(vectors[model]), hashes) for model, hashes in needed.items()}


def _ids_by_tenant(stored: Sequence[Document]) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for document in stored:
        ids.setdefault(document.tenant_id, []).append(document.id)
    return ids


class SqlDocuments:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- collections -------------------------------------------------------------------------------------

    def ensure_collection(self, tenant_id: str, collection: str) -> None:
        with self._db.write() as conn:
            self._db._ensure_collection(conn, tenant_id, collection)

    def list_collections(self, tenant_id: str, readers: Readers = None) -> list[CollectionInfo]:
        query = queries.collection_counts(tenant_id, readers)
        with self._db.read() as conn:
            return [rows.collection_info(row) for row in conn.execute(query)]

    def delete_collection(self, tenant_id: str, collection: str) -> int | None:
        """Every document of the collection, then the collection itself, in one transaction: the number of
        documents deleted, or None if there is no such collection."""
        where = sa.and_(documents.c.tenant_id == tenant_id, documents.c.collection == collection)
        with self._db.write() as conn:
            named = sa.select(collections.c.name).where(*queries.collection_is(tenant_id, collection))
            if conn.execute(named).first() is None:
                return None
            restricted = sa.select(documents.c.id).where(where, documents.c.restricted.is_(True)).limit(1)
            if conn.execute(restricted).first() is not None:
                access_records.raise_version(self._db, conn, tenant_id)
            self._remove_chunks(conn, tenant_id, chunks.c.collection == collection)
            ids = sa.select(documents.c.id).where(where).scalar_subquery()
            conn.execute(sa.delete(document_tags).where(document_tags.c.document_id.in_(ids)))
            deleted = conn.execute(sa.delete(documents).where(where)).rowcount
            conn.execute(sa.delete(collections).where(*queries.collection_is(tenant_id, collection)))
            return int(deleted)

    # --- documents ---------------------------------------------------------------------------------------

    def write_document(
        self,
        draft: DocumentDraft,
        chunks: Sequence[ChunkDraft],
        vectors: Mapping[str, np.ndarray],
        model_id: str,
    ) -> Document:
        return self.write_documents([DocumentWrite(draft, chunks, vectors, model_id)])[0]

    def write_documents(self, writes: Sequence[DocumentWrite]) -> list[Document]:
        """One transaction for the whole batch, each step done for every document at once where SQL allows:
        a bulk load pays a commit and a handful of statements per batch, not per document."""
        if not writes:
            return []
        last = {_source_key(write.draft): i for i, write in enumerate(writes)}
        kept = [write for i, write in enumerate(writes) if last[_source_key(write.draft)] == i]
        encoded = _encode_by_model(kept)
        now = utcnow()
        with self._db.write() as conn:
            for tenant_id, collection, model_id in dict.fromkeys(
                (write.draft.tenant_id, write.draft.collection, write.model_id) for write in kept
            ):
                self._db._ensure_collection(conn, tenant_id, collection)
                self._check_model(conn, tenant_id, collection, model_id)
            for model_id, (dim, blobs, needed) in encoded.items():
                self._db._cache_vectors(conn, model_id, dim, blobs)
                self._check_vectors(conn, model_id, needed)
            stored = [self._upsert_document(conn, write.draft, len(write.chunks), now) for write in kept]
            for tenant_id, ids in _ids_by_tenant(stored).items():
                for batch in codec.in_batches(ids):
                    self._remove_chunks(conn, tenant_id, chunks.c.document_id.in_(batch))
            written = list(zip(stored, kept, strict=True))
            self._add_chunks(conn, written)
            self._replace_tags(conn, [(document, write.draft.tags) for document, write in written])
            raised: set[str] = set()
            for document, write in written:
                if write.draft.access is not None:
                    access_records.replace_grants(conn, document.tenant_id, document.id, write.draft.access)
                if write.draft.access is not None or document.restricted:  # new permissions, or hidden chunks
                    raised.add(document.tenant_id)
            for tenant_id in sorted(raised):
                access_records.raise_version(self._db, conn, tenant_id)
        by_source = {_source_key(write.draft): document for document, write in written}
        return [by_source[_source_key(write.draft)] for write in writes]

    def delete_document(self, tenant_id: str, document_id: str, readers: Readers = None) -> bool:
        with self._db.write() as conn:
            mine = sa.select(documents.c.restricted).where(
                documents.c.id == document_id, documents.c.tenant_id == tenant_id, queries.readable(readers)
            )
            restricted = conn.execute(mine).scalar()
            if restricted is None:
                return False
            if restricted:
                access_records.raise_version(self._db, conn, tenant_id)
            self._remove_chunks(conn, tenant_id, _of_document(document_id))
            tags = sa.and_(document_tags.c.document_id == document_id, document_tags.c.tenant_id == tenant_id)
            conn.execute(sa.delete(document_tags).where(tags))
            where = sa.and_(documents.c.id == document_id, documents.c.tenant_id == tenant_id)
            return conn.execute(sa.delete(documents).where(where)).rowcount > 0

    def get_document(
        self, tenant_id: str, document_id: str, *, with_text: bool = False, readers: Readers = None
    ) -> Document | None:
        fields = [*queries.DOCUMENT_FIELDS, documents.c.text] if with_text else queries.DOCUMENT_FIELDS
        query = sa.select(*fields).where(
            documents.c.id == document_id, documents.c.tenant_id == tenant_id, queries.readable(readers)
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return rows.document(row) if row is not None else None

    def list_documents(
        self,
        tenant_id: str,
        collections: Sequence[str] | None,
        limit: int,
        cursor: str | None,
        readers: Readers = None,
    ) -> Page[Document]:
        query = sa.select(*queries.DOCUMENT_FIELDS).where(
            documents.c.tenant_id == tenant_id, queries.readable(readers)
        )
        if collections is not None:
            query = query.where(documents.c.collection.in_(list(collections)))
        query = paging.newest_first(query, documents, limit, cursor)
        with self._db.read() as conn:
            return paging.page([rows.document(row) for row in conn.execute(query)], limit)

    def readable_collections(
        self, tenant_id: str, document_ids: Sequence[str], readers: Readers = None
    ) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._db.read() as conn:
            for batch in codec.in_batches(sorted(set(document_ids))):
                query = sa.select(documents.c.id, documents.c.collection).where(
                    documents.c.tenant_id == tenant_id, documents.c.id.in_(batch), queries.readable(readers)
                )
                found.update((str(doc_id), str(collection)) for doc_id, collection in conn.execute(query))
        return found

    def document_hashes(
        self, tenant_id: str, collection: str, sources: Sequence[str] | None = None
    ) -> dict[str, KnownDocument]:
        query = sa.select(documents.c.source, documents.c.id, documents.c.content_hash).where(
            documents.c.tenant_id == tenant_id, documents.c.collection == collection
        )
        if sources is not None:
            query = query.where(documents.c.source.in_(sources))
        with self._db.read() as conn:
            return {source: KnownDocument(doc_id, digest) for source, doc_id, digest in conn.execute(query)}

    # --- chunks ------------------------------------------------------------------------------------------

    def get_chunks(self, tenant_id: str, chunk_ids: Sequence[int]) -> dict[int, Chunk]:
        found: dict[int, Chunk] = {}
        with self._db.read() as conn:
            for batch in codec.in_batches(sorted(set(chunk_ids))):
                query = sa.select(*queries.CHUNK_FIELDS).select_from(queries.CHUNKS_WITH_DOCUMENTS)
                query = query.where(chunks.c.tenant_id == tenant_id, chunks.c.id.in_(batch))
                found.update((row.id, rows.chunk(row)) for row in conn.execute(query))
        return found

    def filter_chunk_ids(
        self,
        tenant_id: str,
        collections: Sequence[str] | None,
        filters: SearchFilters,
        readers: Readers = None,
    ) -> set[int]:
        conditions = queries.chunk_conditions(
            tenant_id, collections, filters, self._db._metadata_equals, readers
        )
        with self._db.read() as conn:
            return set(conn.execute(sa.select(chunks.c.id).where(*conditions)).scalars())

    # --- steps of a write --------------------------------------------------------------------------------

    def _check_model(self, conn: sa.Connection, tenant_id: str, collection: str, model_id: str) -> None:
        """A collection's chunks all carry its active model: a writer that has not seen a switch must retry."""
        recorded = self._db._models_of(conn, tenant_id, collection).active
        if recorded is not None and recorded != model_id:
            raise Conflict(
                f"collection {collection!r} is embedded with {recorded!r}, not {model_id!r}",
                details={"collection": collection, "model": recorded, "written_model": model_id},
            )

    def _upsert_document(
        self, conn: sa.Connection, draft: DocumentDraft, chunk_count: int, now: datetime
    ) -> Document:
        """Insert, or update in place keeping the id, created_at and owner of the stored version, if the
        author may replace it: its owner or an admin. Access given is written; none keeps the stored one."""
        changed: dict[str, object] = {
            "title": draft.title,
            "text": draft.text,
            "content_hash": draft.content_hash,
            "tags": list(dict.fromkeys(draft.tags)),
            "metadata": dict(draft.metadata),
            "chunk_count": chunk_count,
            "updated_at": now,
        }
        if draft.access is not None:
            changed["restricted"] = draft.access.restricted
        key = {"tenant_id": draft.tenant_id, "collection": draft.collection, "source": draft.source}
        new = {"id": uuid.uuid4().hex, "created_at": now, "owner": draft.author.name, "restricted": False}
        insert = self._db._insert(documents).values({**new, **key, **changed})
        mine = None if draft.author.admin else documents.c.owner == draft.author.name
        upsert = insert.on_conflict_do_update(index_elements=list(key), set_=changed, where=mine)
        row = conn.execute(upsert.returning(*queries.DOCUMENT_FIELDS)).first()
        if row is None:
            raise SourceTaken(
                f"source {draft.source!r} names a document of another owner: writing over it needs its "
                "owner or an admin",
                details={"source": draft.source, "collection": draft.collection},
            )
        return rows.document(row)

    def _remove_chunks(self, conn: sa.Connection, tenant_id: str, which: queries.Condition) -> None:
        """The tenant's chunks that match `which` (one document's, one collection's), with their keyword rows;
        each removal joins the change sequence."""
        where = sa.and_(which, chunks.c.tenant_id == tenant_id)
        deleted = conn.execute(sa.delete(chunks).where(where).returning(chunks.c.id, chunks.c.partition))
        removed = sorted((int(chunk_id), str(partition)) for chunk_id, partition in deleted)
        if removed:
            self._db._unindex_keywords(conn, [chunk_id for chunk_id, _ in removed])
            values = [{"op": "remove", "chunk_id": chunk_id, "partition": part} for chunk_id, part in removed]
            conn.execute(sa.insert(changes), values)

    def _check_vectors(self, conn: sa.Connection, model_id: str, needed: set[str]) -> None:
        """Every chunk must be searchable by vector: refuse the write if any hash has no embedding."""
        found: set[str] = set()
        for batch in codec.in_batches(sorted(needed)):
            query = sa.select(embeddings.c.content_hash).where(
                embeddings.c.model_id == model_id, embeddings.c.content_hash.in_(batch)
            )
            found.update(conn.execute(query).scalars())
        if missing := needed - found:
            raise InvalidInput(
                "chunks without a vector for this model",
                details={"model_id": model_id, "missing_hashes": sorted(missing)[:10], "count": len(missing)},
            )

    def _add_chunks(self, conn: sa.Connection, written: Sequence[tuple[Document, DocumentWrite]]) -> None:
        """The chunks of every written document, with their keyword rows and `add` changes, in three
        statements."""
        values, texts = [], []
        for document, write in written:
            draft = write.draft
            partition = partition_key(draft.tenant_id, draft.collection, write.model_id)
            for chunk in write.chunks:
                values.append(rows.chunk_row(document.id, draft, chunk, write.model_id, partition))
                texts.append(rows.keyword_text(draft.title, chunk.heading_path, chunk.text))
        if not values:
            return
        insert = sa.insert(chunks).returning(chunks.c.id, sort_by_parameter_order=True)
        ids = list(conn.execute(insert, values).scalars())
        self._db._index_keywords(conn, list(zip(ids, texts, strict=True)))
        added = [
            {"op": "add", "chunk_id": chunk_id, "partition": value["partition"]}
            for chunk_id, value in zip(ids, values, strict=True)
        ]
        conn.execute(sa.insert(changes), added)

    def _replace_tags(self, conn: sa.Connection, tagged: Sequence[tuple[Document, Sequence[str]]]) -> None:
        ids = [document.id for document, _ in tagged]
        for batch in codec.in_batches(ids):
            conn.execute(sa.delete(document_tags).where(document_tags.c.document_id.in_(batch)))
        values = [
            {"document_id": document.id, "tenant_id": document.tenant_id, "tag": tag}
            for document, tags in tagged
            for tag in dict.fromkeys(tags)
        ]
        if values:
            conn.execute(sa.insert(document_tags), values)
