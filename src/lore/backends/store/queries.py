"""The SELECTs the store composes: tenant and filter conditions on chunks, vectors, collection counts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from lore.backends.store.schema import chunks, collections, document_tags, documents, embeddings
from lore.models import MetadataValue, SearchFilters

Condition = sa.ColumnElement[bool]
MetadataEquals = Callable[[str, MetadataValue], Condition]  # the dialect's typed JSON comparison


def chunk_conditions(
    tenant_id: str,
    collections: Sequence[str] | None,
    filters: SearchFilters | None,
    metadata_equals: MetadataEquals,
) -> list[Condition]:
    """Conditions on `chunks` for a tenant, its collections and a filter; sub-selects run once, not per row."""
    conditions: list[Condition] = [chunks.c.tenant_id == tenant_id]
    if collections is not None:
        conditions.append(chunks.c.collection.in_(list(collections)))
    if filters is None:
        return conditions
    if filters.document_ids:
        conditions.append(chunks.c.document_id.in_(list(filters.document_ids)))
    if filters.tags:
        conditions.append(chunks.c.document_id.in_(tagged(tenant_id, filters.tags)))
    if filters.metadata:
        matching = [metadata_equals(key, value) for key, value in filters.metadata.items()]
        query = sa.select(documents.c.id).where(documents.c.tenant_id == tenant_id, *matching)
        conditions.append(chunks.c.document_id.in_(query))
    return conditions


def tagged(tenant_id: str, tags: Sequence[str]) -> sa.Select[Any]:
    """Ids of the tenant's documents that carry every one of `tags`."""
    wanted = list(dict.fromkeys(tags))
    return (
        sa.select(document_tags.c.document_id)
        .where(document_tags.c.tenant_id == tenant_id, document_tags.c.tag.in_(wanted))
        .group_by(document_tags.c.document_id)
        .having(sa.func.count() == len(wanted))
    )


def vectors() -> sa.Select[Any]:
    """(chunk id, dim, vector blob) by chunk id; callers add which chunks."""
    joined = chunks.join(
        embeddings,
        sa.and_(
            embeddings.c.model_id == chunks.c.model_id, embeddings.c.content_hash == chunks.c.content_hash
        ),
    )
    return (
        sa.select(chunks.c.id, embeddings.c.dim, embeddings.c.vector)
        .select_from(joined)
        .order_by(chunks.c.id)
    )


def collection_counts(tenant_id: str) -> sa.Select[Any]:
    """(name, documents, chunks) of each of the tenant's collections, empty ones included."""
    joined = collections.outerjoin(
        documents,
        sa.and_(
            documents.c.tenant_id == collections.c.tenant_id, documents.c.collection == collections.c.name
        ),
    )
    return (
        sa.select(
            collections.c.name,
            sa.func.count(documents.c.id),
            sa.func.coalesce(sa.func.sum(documents.c.chunk_count), 0),
        )
        .select_from(joined)
        .where(collections.c.tenant_id == tenant_id)
        .group_by(collections.c.name)
        .order_by(collections.c.name)
    )
