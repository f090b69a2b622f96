"""The store's tables as SQLAlchemy Core objects, for queries on every dialect.

The schema itself is created by the Alembic migrations in `lore.migrations`; the test suite checks that the
migrated database and these definitions agree. Dialect-specific parts (SQLite's FTS5 table) live in the backend
module and in dialect-guarded migration steps, not here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

# BIGINT ids on PostgreSQL; on SQLite only "INTEGER PRIMARY KEY" aliases the rowid (and AUTOINCREMENT needs it).
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timestamps in UTC, aware in Python on every dialect (SQLite stores them as naive ISO text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _created_at() -> sa.Column[datetime]:
    return sa.Column("created_at", UtcDateTime(), nullable=False)


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    _created_at(),
)

collections = sa.Table(
    "collections",
    metadata,
    sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("name", sa.Text(), primary_key=True),
    _created_at(),
    # Embedding versions (NULL model: the configured default embedder). While a re-embedding runs, the pending
    # model's partition is built from change `pending_since` on; `model_seq` is the change from which the
    # active model's partition is complete, so a process switches its searches once its index has applied it.
    sa.Column("model_id", sa.Text(), nullable=True),
    sa.Column("pending_model_id", sa.Text(), nullable=True),
    sa.Column("pending_since", sa.BigInteger(), nullable=True),
    sa.Column("model_seq", sa.BigInteger(), nullable=False, server_default="0"),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("tenant_id", sa.Text(), nullable=False),
    sa.Column("collection", sa.Text(), nullable=False),
    sa.Column("source", sa.Text(), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("content_hash", sa.Text(), nullable=False),
    sa.Column("tags", Json, nullable=False),
    sa.Column("metadata", Json, nullable=False),
    sa.Column("chunk_count", sa.Integer(), nullable=False),
    _created_at(),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column(
        "text", sa.Text(), nullable=False
    ),  # last: SQLite reads the columns before it without overflow pages
    sa.ForeignKeyConstraint(
        ["tenant_id", "collection"],
        ["collections.tenant_id", "collections.name"],
        name="fk_documents_collection",
    ),
    sa.UniqueConstraint("tenant_id", "collection", "source", name="uq_documents_source"),
    sa.Index("ix_documents_tenant_newest", "tenant_id", "created_at", "id"),
    sa.Index("ix_documents_collection_newest", "tenant_id", "collection", "created_at", "id"),
)

document_tags = sa.Table(
    "document_tags",
    metadata,
    sa.Column("document_id", sa.Text(), sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag", sa.Text(), primary_key=True),
    sa.Column("tenant_id", sa.Text(), nullable=False),
    sa.Index("ix_document_tags_tag", "tenant_id", "tag", "document_id"),
)

chunks = sa.Table(
    "chunks",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("document_id", sa.Text(), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("tenant_id", sa.Text(), nullable=False),
    sa.Column("collection", sa.Text(), nullable=False),
    sa.Column("partition", sa.Text(), nullable=False),  # partition_key(tenant, collection, model_id)
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("heading_path", Json, nullable=False),
    sa.Column("token_count", sa.Integer(), nullable=False),
    sa.Column("content_hash", sa.Text(), nullable=False),
    sa.Column("model_id", sa.Text(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),  # last, as in documents
    sa.Index("ix_chunks_document", "document_id"),
    sa.Index("ix_chunks_partition", "partition", "id"),
    sa.Index("ix_chunks_collection", "tenant_id", "collection", "id"),
    sqlite_autoincrement=True,  # ids are index labels: never reuse one, even after deleting the newest
)

embeddings = sa.Table(
    "embeddings",
    metadata,
    sa.Column("model_id", sa.Text(), primary_key=True),
    sa.Column("content_hash", sa.Text(), primary_key=True),
    sa.Column("dim", sa.Integer(), nullable=False),
    sa.Column("vector", sa.LargeBinary(), nullable=False),  # float32, little-endian
)

changes = sa.Table(
    "changes",
    metadata,
    sa.Column("seq", RowId, primary_key=True, autoincrement=True),
    sa.Column("op", sa.Text(), nullable=False),  # "add" | "remove"
    sa.Column("chunk_id", sa.BigInteger(), nullable=False),
    sa.Column("partition", sa.Text(), nullable=False),
    sqlite_autoincrement=True,
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("tenant_id", sa.Text(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("params", Json, nullable=False),
    sa.Column("state", sa.Text(), nullable=False),  # "queued" | "running" | "succeeded" | "failed"
    sa.Column("progress_done", sa.Integer(), nullable=False),
    sa.Column("progress_total", sa.Integer(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("max_attempts", sa.Integer(), nullable=False),
    sa.Column("error", Json, nullable=True),
    sa.Column("result", Json, nullable=True),
    sa.Column("lease_owner", sa.Text(), nullable=True),
    sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
    sa.Column("due_at", UtcDateTime(), nullable=False),  # when the queue should next deliver a queued job
    _created_at(),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_jobs_tenant_newest", "tenant_id", "created_at", "id"),
    sa.Index("ix_jobs_state_lease", "state", "lease_expires_at"),
    sa.Index("ix_jobs_state_due", "state", "due_at"),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("tenant_id", sa.Text(), nullable=False),
    sa.Column("title", sa.Text(), nullable=True),
    sa.Column("metadata", Json, nullable=False),
    sa.Column("message_count", sa.Integer(), nullable=False),
    _created_at(),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_conversations_tenant_newest", "tenant_id", "created_at", "id"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column(
        "conversation_id", sa.Text(), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("role", sa.Text(), nullable=False),  # "user" | "assistant"
    sa.Column("citations", Json, nullable=False),
    sa.Column("usage", Json, nullable=True),
    sa.Column("metadata", Json, nullable=False),
    _created_at(),
    sa.Column("content", sa.Text(), nullable=False),  # last, as in documents
    # A conversation's messages in order, for pages either way: ids grow with time within one conversation.
    sa.Index("ix_messages_conversation", "conversation_id", "id"),
    sqlite_autoincrement=True,
)
