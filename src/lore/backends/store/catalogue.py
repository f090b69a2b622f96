"""`CatalogueRecords`, the database's `catalogue` repository: a tenant's documents as the items recommendations
rank, each with the mean of its chunk vectors, and a signature that changes whenever one of them does.

    >>> for item in db.catalogue.items("default", "minilm-l6-v2@int8"):
    ...     item.document_id, item.vector  # unit length; None when no chunk has a vector of that model
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lore.backends.store import codec
from lore.backends.store.schema import chunks, documents, embeddings

if TYPE_CHECKING:
    import numpy as np

    from lore.backends.store.database import Database

BATCH = 500  # documents per read transaction
EMPTY = "0@"  # the signature of a tenant without documents


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """One document as an item: where it is, what it is called, and its content vector (None: none)."""

    document_id: str
    collection: str
    title: str
    source: str
    vector: np.ndarray | None


class CatalogueRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def signature(self, tenant_id: str) -> str:
        """Changes when a document of the tenant is added, replaced or deleted (count and newest update)."""
        query = sa.select(sa.func.count(), sa.func.max(documents.c.updated_at)).where(
            documents.c.tenant_id == tenant_id
        )
        with self.db.read() as conn:
            count, newest = conn.execute(query).one()
        return f"{count}@{newest.isoformat() if newest else ''}"

    def items(self, tenant_id: str, model_id: str) -> Iterator[CatalogueItem]:
        """Every document of the tenant, by id, with the normalised mean of its chunks' `model_id` vectors."""
        after = ""
        while True:
            query = (
                sa.select(documents.c.id, documents.c.collection, documents.c.title, documents.c.source)
                .where(documents.c.tenant_id == tenant_id, documents.c.id > after)
                .order_by(documents.c.id)
                .limit(BATCH)
            )
            with self.db.read() as conn:
                batch = conn.execute(query).all()
                means = self._means(conn, model_id, [row.id for row in batch])
            for row in batch:
                yield CatalogueItem(row.id, row.collection, row.title, row.source, means.get(row.id))
            if len(batch) < BATCH:
                return
            after = batch[-1].id

    def vectors(self, tenant_id: str, model_id: str, document_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The content vectors of some of the tenant's documents (absent: no such document, or no vector)."""
        query = sa.select(documents.c.id).where(
            documents.c.tenant_id == tenant_id, documents.c.id.in_(list(document_ids))
        )
        with self.db.read() as conn:
            found = list(conn.execute(query).scalars())
            return self._means(conn, model_id, found)

    @staticmethod
    def _means(conn: sa.Connection, model_id: str, document_ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not document_ids:
            return {}
        joined = chunks.join(
            embeddings,
            sa.and_(embeddings.c.model_id == model_id, embeddings.c.content_hash == chunks.c.content_hash),
        )
        sums: dict[str, np.ndarray] = {}
        for batch in codec.in_batches(list(document_ids)):
            query = (
                sa.select(chunks.c.document_id, embeddings.c.vector)
                .select_from(joined)
                .where(chunks.c.document_id.in_(batch))
            )
            for document_id, blob in conn.execute(query):
                vector = codec.decode_vector(blob)
                sums[document_id] = sums[document_id] + vector if document_id in sums else vector.copy()
        import numpy as np  # here, not at the top: commands that only list records never load it

        return {key: total / norm for key, total in sums.items() if (norm := float(np.linalg.norm(total)))}
