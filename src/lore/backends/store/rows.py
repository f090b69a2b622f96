"""Conversions between the database's rows and Lore's domain types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import sqlalchemy as sa

from lore.backends.store import codec
from lore.core import keywords
from lore.models import (
    Chunk,
    ChunkDraft,
    CollectionInfo,
    CollectionModels,
    Document,
    DocumentDraft,
    IdVectors,
)

AnyRow: TypeAlias = sa.Row[*tuple[Any, ...]]  # a row of any number of columns


def document(row: AnyRow) -> Document:
    """A document from a row of `documents`; `text` stays None unless the row selected it."""
    fields = row._mapping
    return Document(
        id=fields["id"],
        tenant_id=fields["tenant_id"],
        collection=fields["collection"],
        title=fields["title"],
        source=fields["source"],
        content_hash=fields["content_hash"],
        tags=list(fields["tags"]),
        metadata=dict(fields["metadata"]),
        chunk_count=fields["chunk_count"],
        created_at=fields["created_at"],
        updated_at=fields["updated_at"],
        owner=fields["owner"],
        restricted=bool(fields["restricted"]),
        text=fields.get("text"),
    )


def chunk(row: AnyRow) -> Chunk:
    """A chunk from a row of `chunks` joined with its document's display fields."""
    fields = row._mapping
    return Chunk(
        id=int(fields["id"]),
        document_id=fields["document_id"],
        tenant_id=fields["tenant_id"],
        collection=fields["collection"],
        position=fields["position"],
        text=fields["text"],
        heading_path=list(fields["heading_path"]),
        token_count=fields["token_count"],
        content_hash=fields["content_hash"],
        title=fields["title"],
        source=fields["source"],
        tags=list(fields["tags"]),
        metadata=dict(fields["metadata"]),
    )


def chunk_row(
    document_id: str, draft: DocumentDraft, chunk: ChunkDraft, model_id: str, partition: str
) -> dict[str, Any]:
    """The values of a new `chunks` row (the store assigns the id)."""
    return {
        "document_id": document_id,
        "tenant_id": draft.tenant_id,
        "collection": draft.collection,
        "partition": partition,
        "position": chunk.position,
        "text": chunk.text,
        "heading_path": list(chunk.heading_path),
        "token_count": chunk.token_count,
        "content_hash": chunk.content_hash,
        "model_id": model_id,
    }


def id_vectors(rows: Sequence[AnyRow]) -> IdVectors:
    """int64 ids and their float32 (n, dim) matrix from (id, dim, vector blob) rows."""
    import numpy as np

    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    dim = rows[0][1] if rows else 0
    return IdVectors(ids, codec.decode_matrix([row[2] for row in rows], dim))


def collection_info(row: AnyRow) -> CollectionInfo:
    """From a row of `queries.collection_counts`."""
    name, created_at, model, pending, document_count, chunk_count = row
    return CollectionInfo(name, int(document_count), int(chunk_count), created_at, model, pending)


def collection_models(row: AnyRow) -> CollectionModels:
    """From a row of `queries.MODEL_FIELDS`."""
    tenant_id, name, active, pending, since, model_seq = row
    return CollectionModels(tenant_id, name, active, pending, since, int(model_seq or 0))


def keyword_text(title: str, heading_path: Sequence[str], text: str) -> str:
    """What the keyword index holds for a chunk: its document title and headings give short chunks context."""
    return keywords.index_text("\n".join([title, *heading_path, text]))
