"""Initial schema: tenants, collections, documents and tags, chunks, the embedding cache, the change
sequence, and on SQLite the FTS5 keyword index.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in lore.backends.store.schema: a migration must not change when they do.
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)

# rowid = chunk id; `body` holds keywords.index_text(title, headings, text). The content is kept in the table
# (SQLite 3.40 has no contentless_delete) so rows can be deleted by rowid. unicode61 must treat combining
# marks as word characters, or Thai and Hindi words split at every vowel sign.
SQLITE_FTS = """CREATE VIRTUAL TABLE chunks_fts USING fts5(
    body, tokenize = "porter unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
)"""


# Planner statistics for a large store, seeded so that a new database gets the plans a grown one needs: without
# them SQLite takes `tenant_id = ?` for selective and scans a whole tenant's chunks to find ten of them by id.
# Format: rows, then rows per distinct prefix of the index's columns. A later ANALYZE replaces them with real ones.
SQLITE_STATISTICS = {
    ("tenants", "sqlite_autoindex_tenants_1"): "100 1",
    ("collections", "sqlite_autoindex_collections_1"): "1000 10 1",
    ("documents", "sqlite_autoindex_documents_1"): "100000 1",  # id
    ("documents", "sqlite_autoindex_documents_2"): "100000 50000 10000 1",  # tenant, collection, source
    ("documents", "ix_documents_tenant_newest"): "100000 50000 1 1",
    ("documents", "ix_documents_collection_newest"): "100000 50000 10000 1 1",
    ("document_tags", "sqlite_autoindex_document_tags_1"): "300000 3 1",
    ("document_tags", "ix_document_tags_tag"): "300000 150000 1000 1",
    ("chunks", "ix_chunks_document"): "1000000 10",
    ("chunks", "ix_chunks_partition"): "1000000 100000 1",
    ("chunks", "ix_chunks_collection"): "1000000 500000 100000 1",
    ("embeddings", "sqlite_autoindex_embeddings_1"): "1000000 500000 1",
}


def upgrade() -> None:
    _create_tenants_and_collections()
    _create_documents()
    _create_chunks()
    _create_embeddings_and_changes()
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_FTS)
        _seed_sqlite_statistics()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE chunks_fts")
        tables = ", ".join(sorted({f"'{table}'" for table, _ in SQLITE_STATISTICS}))
        op.execute(f"DELETE FROM sqlite_stat1 WHERE tbl IN ({tables})")
    for table in ("changes", "embeddings", "chunks", "document_tags", "documents", "collections", "tenants"):
        op.drop_table(table)


def _seed_sqlite_statistics() -> None:
    op.execute("ANALYZE")  # creates sqlite_stat1; the tables are empty, so it adds no statistics of its own
    stat1 = sa.table("sqlite_stat1", sa.column("tbl"), sa.column("idx"), sa.column("stat"))
    rows = [{"tbl": table, "idx": index, "stat": stat} for (table, index), stat in SQLITE_STATISTICS.items()]
    op.bulk_insert(stat1, rows)
    op.execute("ANALYZE sqlite_schema")  # makes this connection read them too


def _create_tenants_and_collections() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_table(
        "collections",
        sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("created_at", Timestamp, nullable=False),
    )


def _create_documents() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("collection", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("tags", Json, nullable=False),
        sa.Column("metadata", Json, nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column(
            "text", sa.Text(), nullable=False
        ),  # long texts last: SQLite reads the columns before them cheaply
        sa.ForeignKeyConstraint(
            ["tenant_id", "collection"],
            ["collections.tenant_id", "collections.name"],
            name="fk_documents_collection",
        ),
        sa.UniqueConstraint("tenant_id", "collection", "source", name="uq_documents_source"),
    )
    op.create_index("ix_documents_tenant_newest", "documents", ["tenant_id", "created_at", "id"])
    op.create_index(
        "ix_documents_collection_newest", "documents", ["tenant_id", "collection", "created_at", "id"]
    )
    op.create_table(
        "document_tags",
        sa.Column(
            "document_id", sa.Text(), sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("tag", sa.Text(), primary_key=True),
        sa.Column("tenant_id", sa.Text(), nullable=False),
    )
    op.create_index("ix_document_tags_tag", "document_tags", ["tenant_id", "tag", "document_id"])


def _create_chunks() -> None:
    op.create_table(
        "chunks",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column(
            "document_id", sa.Text(), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("collection", sa.Text(), nullable=False),
        sa.Column("partition", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading_path", Json, nullable=False),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("model_id", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_chunks_document", "chunks", ["document_id"])
    op.create_index("ix_chunks_partition", "chunks", ["partition", "id"])
    op.create_index("ix_chunks_collection", "chunks", ["tenant_id", "collection", "id"])


def _create_embeddings_and_changes() -> None:
    op.create_table(
        "embeddings",
        sa.Column("model_id", sa.Text(), primary_key=True),
        sa.Column("content_hash", sa.Text(), primary_key=True),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "changes",
        sa.Column("seq", RowId, primary_key=True, autoincrement=True),
        sa.Column("op", sa.Text(), nullable=False),
        sa.Column("chunk_id", sa.BigInteger(), nullable=False),
        sa.Column("partition", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
