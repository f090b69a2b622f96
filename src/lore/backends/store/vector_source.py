"""`SqlVectorSource`, the database's `vectors` repository (`lore.interfaces.VectorSource`): the embedding cache
(`embeddings`, by model and content hash) read by chunk, partition or collection."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lore.backends.store import codec, queries, rows
from lore.backends.store.schema import chunks, embeddings
from lore.models import IdVectors

if TYPE_CHECKING:
    import numpy as np

    from lore.backends.store.database import Database


class SqlVectorSource:
    def __init__(self, db: Database) -> None:
        self._db = db

    def cached_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._db.read() as conn:
            for batch in codec.in_batches(list(dict.fromkeys(hashes))):
                query = sa.select(embeddings.c.content_hash, embeddings.c.vector).where(
                    embeddings.c.model_id == model_id, embeddings.c.content_hash.in_(batch)
                )
                found.update((digest, codec.decode_vector(blob)) for digest, blob in conn.execute(query))
        return found

    def chunk_vectors(self, model_id: str, chunk_ids: Sequence[int]) -> IdVectors:
        found: list[rows.AnyRow] = []
        with self._db.read() as conn:
            for batch in codec.in_batches(sorted(set(chunk_ids))):
                found += conn.execute(queries.model_vectors(model_id).where(chunks.c.id.in_(batch)))
        return rows.id_vectors(found)

    def iter_partition_vectors(self, partition: str, batch_size: int = 4096) -> Iterator[IdVectors]:
        return self._pages(queries.vectors().where(chunks.c.partition == partition), batch_size)

    def partitions(self) -> list[str]:
        query = sa.select(chunks.c.partition).distinct().order_by(chunks.c.partition)
        with self._db.read() as conn:
            return list(conn.execute(query).scalars())

    def iter_model_vectors(
        self, tenant_id: str, collection: str, model_id: str, batch_size: int = 4096
    ) -> Iterator[IdVectors]:
        query = queries.model_vectors(model_id).where(*queries.chunks_of(tenant_id, collection))
        return self._pages(query, batch_size)

    def _pages(self, query: sa.Select[Any], batch_size: int) -> Iterator[IdVectors]:
        """`query`'s (chunk id, dim, blob) rows by ascending id, one short read transaction per batch."""
        after = 0
        while True:
            with self._db.read() as conn:
                found = conn.execute(query.where(chunks.c.id > after).limit(batch_size)).all()
            if not found:
                return
            after = found[-1][0]
            yield rows.id_vectors(found)
