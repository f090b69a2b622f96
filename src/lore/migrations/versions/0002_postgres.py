"""PostgreSQL search: the pgvector extension and the full-text keyword index (tsvector + GIN).

On SQLite nothing changes: its keyword index (FTS5) comes with 0001 and its vectors live in usearch files.
The tables are named `chunks_fts*` like SQLite's FTS5 table, so the schema checks leave them out alike.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# chunk_id has no foreign key: the store deletes these rows itself, reading term_count to keep the totals.
UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS vector",
    # English stems for every term, as SQLite's porter tokenizer does; no stop words: the store keeps them all
    "CREATE TEXT SEARCH DICTIONARY lore_english_stem (TEMPLATE = snowball, Language = english)",
    """CREATE TABLE chunks_fts (
        chunk_id BIGINT PRIMARY KEY,
        body TSVECTOR NOT NULL,
        term_count INTEGER NOT NULL
    )""",
    "CREATE INDEX ix_chunks_fts_body ON chunks_fts USING gin (body)",
    """CREATE TABLE chunks_fts_stats (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        chunks BIGINT NOT NULL,
        terms BIGINT NOT NULL
    )""",
    "INSERT INTO chunks_fts_stats (id, chunks, terms) VALUES (1, 0, 0)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE chunks_fts_stats")
    op.execute("DROP TABLE chunks_fts")
    op.execute("DROP TEXT SEARCH DICTIONARY lore_english_stem")
    # the extension stays: the vector index's tables may use it
