"""`SqlReembedding`, the database's `reembedding` repository (`lore.interfaces.Reembedding`): each collection's
active and pending model (`collections`), and the changes that build the pending model's partition and retire
the old one when it becomes active."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lore.backends.store import codec, queries, rows
from lore.backends.store.schema import changes, chunks, collections, documents, embeddings
from lore.errors import Conflict
from lore.models import Chunk, CollectionModels, partition_key

if TYPE_CHECKING:
    import numpy as np

    from lore.backends.store.database import Database


class SqlReembedding:
    def __init__(self, db: Database) -> None:
        self._db = db

    def collection_models(self) -> list[CollectionModels]:
        query = sa.select(*queries.MODEL_FIELDS).where(
            sa.or_(collections.c.model_id.is_not(None), collections.c.pending_model_id.is_not(None))
        )
        with self._db.read() as conn:
            return [rows.collection_models(row) for row in conn.execute(query)]

    def start_reembed(
        self, tenant_id: str, collection: str, model_id: str, current_model_id: str
    ) -> CollectionModels:
        with self._db.write() as conn:
            self._db._ensure_collection(conn, tenant_id, collection)
            models = self._db._models_of(conn, tenant_id, collection)
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
            since = int(conn.execute(queries.last_seq()).scalar_one())
            values = {"model_id": active, "pending_model_id": model_id, "pending_since": since}
            self._update_collection(conn, tenant_id, collection, values)
            self._add_to_partition(conn, tenant_id, collection, model_id, None)
            return self._db._models_of(conn, tenant_id, collection)

    def missing_vectors(self, tenant_id: str, collection: str, model_id: str, limit: int) -> list[Chunk]:
        query = (
            sa.select(*queries.CHUNK_FIELDS)
            .select_from(
                queries.missing_join(model_id).join(documents, documents.c.id == chunks.c.document_id)
            )
            .where(*queries.chunks_of(tenant_id, collection), embeddings.c.content_hash.is_(None))
            .order_by(chunks.c.id)
            .limit(limit)
        )
        with self._db.read() as conn:
            return [rows.chunk(row) for row in conn.execute(query)]

    def count_missing_vectors(self, tenant_id: str, collection: str, model_id: str) -> int:
        with self._db.read() as conn:
            return int(conn.execute(queries.count_missing(tenant_id, collection, model_id)).scalar_one())

    def add_model_vectors(
        self, tenant_id: str, collection: str, model_id: str, vectors: Mapping[str, np.ndarray]
    ) -> int:
        if not vectors:
            return 0
        dim, blobs = codec.encode_vectors(vectors)
        with self._db.write() as conn:
            pending = self._db._models_of(conn, tenant_id, collection).pending
            if pending != model_id:
                raise Conflict(
                    f"collection {collection!r} is not being re-embedded with {model_id!r}",
                    details={"collection": collection, "model": model_id, "pending_model": pending},
                )
            self._db._cache_vectors(conn, model_id, dim, blobs)
            return self._add_to_partition(conn, tenant_id, collection, model_id, sorted(blobs))

    def switch_model(self, tenant_id: str, collection: str, model_id: str) -> CollectionModels:
        with self._db.write() as conn:
            models = self._db._models_of(conn, tenant_id, collection)
            if models.pending != model_id:
                raise Conflict(
                    f"collection {collection!r} has no re-embedding with {model_id!r} to finish",
                    details={"collection": collection, "model": model_id, "pending_model": models.pending},
                )
            missing = conn.execute(queries.count_missing(tenant_id, collection, model_id)).scalar_one()
            if missing:
                raise Conflict(
                    "chunks without a vector of the new model remain",
                    details={"collection": collection, "model": model_id, "missing": int(missing)},
                )
            self._reconcile_partition(conn, tenant_id, collection, model_id, models.pending_since or 0)
            model_seq = int(conn.execute(queries.last_seq()).scalar_one())
            self._retire_partitions(conn, tenant_id, collection, model_id)
            values = {
                "model_id": model_id,
                "pending_model_id": None,
                "pending_since": None,
                "model_seq": model_seq,
            }
            self._update_collection(conn, tenant_id, collection, values)
            return self._db._models_of(conn, tenant_id, collection)

    # --- steps of a write --------------------------------------------------------------------------------

    @staticmethod
    def _update_collection(
        conn: sa.Connection, tenant_id: str, collection: str, values: Mapping[str, object]
    ) -> None:
        conn.execute(
            sa.update(collections).where(*queries.collection_is(tenant_id, collection)).values(values)
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
        for batch in [None] if hashes is None else codec.in_batches(list(hashes)):
            select = (
                queries.model_vectors(model_id)
                .with_only_columns(sa.literal("add"), chunks.c.id, sa.literal(partition))
                .where(*queries.chunks_of(tenant_id, collection))
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
        of_collection = sa.select(chunks.c.id).where(*queries.chunks_of(tenant_id, collection))
        current = set(conn.execute(of_collection).scalars())
        values = [{"op": "add", "chunk_id": i, "partition": partition} for i in sorted(current - member)]
        values += [{"op": "remove", "chunk_id": i, "partition": partition} for i in sorted(member - current)]
        if values:
            conn.execute(sa.insert(changes), values)

    def _retire_partitions(self, conn: sa.Connection, tenant_id: str, collection: str, model_id: str) -> None:
        """Move the collection's chunks to the new model's partition; every index drops the old vectors."""
        of_collection = queries.chunks_of(tenant_id, collection)
        old = conn.execute(
            sa.select(chunks.c.id, chunks.c.partition)
            .where(*of_collection, chunks.c.model_id != model_id)
            .order_by(chunks.c.id)
        ).all()
        partition = partition_key(tenant_id, collection, model_id)
        conn.execute(sa.update(chunks).where(*of_collection).values(model_id=model_id, partition=partition))
        for batch in codec.in_batches(old):
            values = [{"op": "remove", "chunk_id": int(i), "partition": str(p)} for i, p in batch]
            conn.execute(sa.insert(changes), values)
