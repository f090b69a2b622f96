"""The SELECTs the repositories compose: tenant and filter conditions on chunks, vectors, collection counts,
embedding versions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from lore.backends.store.schema import (
    changes,
    chunks,
    collections,
    document_access,
    document_tags,
    documents,
    embeddings,
)
from lore.models import MetadataValue, Readers, SearchFilters

Condition = sa.ColumnElement[bool]
MetadataEquals = Callable[[str, MetadataValue], Condition]  # the dialect's typed JSON comparison

DOCUMENT_FIELDS = [column for column in documents.c if column.name != "text"]
CHUNK_FIELDS = [*chunks.c, documents.c.title, documents.c.source, documents.c.tags, documents.c["metadata"]]
CHUNKS_WITH_DOCUMENTS = chunks.join(documents, documents.c.id == chunks.c.document_id)
MODEL_FIELDS = (
    collections.c.tenant_id,
    collections.c.name,
    collections.c.model_id,
    collections.c.pending_model_id,
    collections.c.pending_since,
    collections.c.model_seq,
)


def chunk_conditions(
    tenant_id: str,
    collections: Sequence[str] | None,
    filters: SearchFilters | None,
    metadata_equals: MetadataEquals,
    readers: Readers = None,
) -> list[Condition]:
    """Conditions on `chunks` for a tenant, its collections, what `readers` may read and a filter; sub-selects
    run once, not per row."""
    conditions: list[Condition] = [chunks.c.tenant_id == tenant_id]
    if collections is not None:
        conditions.append(chunks.c.collection.in_(list(collections)))
    if readers is not None:
        conditions.append(chunks.c.document_id.not_in(hidden_documents(tenant_id, readers)))
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


def granted(readers: frozenset[str]) -> sa.Exists:
    """The document of the enclosing query grants one of `readers` (correlated with `documents`)."""
    rows = sa.select(document_access.c.document_id).where(
        document_access.c.document_id == documents.c.id, document_access.c.principal.in_(sorted(readers))
    )
    return sa.exists(rows.correlate(documents))


def readable(readers: Readers) -> Condition:
    """A document `readers` may read: unrestricted, owned by one of them, or granting one of them."""
    if readers is None:
        return sa.true()
    owned = documents.c.owner.in_(sorted(readers))
    return sa.or_(documents.c.restricted.is_(False), owned, granted(readers))


def hidden_documents(tenant_id: str, readers: frozenset[str]) -> sa.Select[Any]:
    """Ids of the tenant's restricted documents that `readers` may not read. `ix_documents_restricted` finds a
    tenant's restricted documents directly, so where there are none this costs one index probe."""
    owned_by_other = sa.or_(documents.c.owner.is_(None), documents.c.owner.not_in(sorted(readers)))
    return sa.select(documents.c.id).where(
        documents.c.tenant_id == tenant_id,
        documents.c.restricted.is_(True),
        owned_by_other,
        ~granted(readers),
    )


def tagged(tenant_id: str, tags: Sequence[str]) -> sa.Select[Any]:
    """Ids of the tenant's documents that carry every one of `tags`."""
    wanted = list(dict.fromkeys(tags))
    return (
        sa.select(document_tags.c.document_id)
        .where(document_tags.c.tenant_id == tenant_id, document_tags.c.tag.in_(wanted))
        .group_by(document_tags.c.document_id)
        .having(sa.func.count() == len(wanted))
    )


def last_seq() -> sa.Select[Any]:
    """The newest change's sequence number (0 before the first change)."""
    return sa.select(sa.func.coalesce(sa.func.max(changes.c.seq), 0))


def chunks_of(tenant_id: str, collection: str) -> list[Condition]:
    return [chunks.c.tenant_id == tenant_id, chunks.c.collection == collection]


def collection_is(tenant_id: str, collection: str) -> list[Condition]:
    return [collections.c.tenant_id == tenant_id, collections.c.name == collection]


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


def model_vectors(model_id: str) -> sa.Select[Any]:
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


def missing_join(model_id: str) -> sa.Join:
    """Chunks outer-joined with their vector of `model_id` (NULL where none is cached yet)."""
    return chunks.outerjoin(
        embeddings,
        sa.and_(embeddings.c.model_id == model_id, embeddings.c.content_hash == chunks.c.content_hash),
    )


def count_missing(tenant_id: str, collection: str, model_id: str) -> sa.Select[Any]:
    """How many of the collection's chunks have no cached vector of `model_id`."""
    return (
        sa.select(sa.func.count())
        .select_from(missing_join(model_id))
        .where(*chunks_of(tenant_id, collection), embeddings.c.content_hash.is_(None))
    )


def collection_counts(tenant_id: str, readers: Readers = None) -> sa.Select[Any]:
    """(name, created_at, model, pending model, documents, chunks) of each of the tenant's collections, empty
    ones included; only the documents `readers` may read are counted."""
    joined = collections.outerjoin(
        documents,
        sa.and_(
            documents.c.tenant_id == collections.c.tenant_id,
            documents.c.collection == collections.c.name,
            readable(readers),
        ),
    )
    return (
        sa.select(
            collections.c.name,
            collections.c.created_at,
            collections.c.model_id,
            collections.c.pending_model_id,
            sa.func.count(documents.c.id),
            sa.func.coalesce(sa.func.sum(documents.c.chunk_count), 0),
        )
        .select_from(joined)
        .where(collections.c.tenant_id == tenant_id)
        .group_by(
            collections.c.name,
            collections.c.created_at,
            collections.c.model_id,
            collections.c.pending_model_id,
        )
        .order_by(collections.c.name)
    )
