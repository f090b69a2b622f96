"""Events and feedback, versioned trained models (intent classifiers, query adapters, recommenders) and the
tenants' intent routes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in lore.backends.store.schema: a migration must not change when they do.
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("document_id", sa.Text(), nullable=True),
        sa.Column("chunk_id", sa.BigInteger(), nullable=True),
        sa.Column("collection", sa.Text(), nullable=True),
        sa.Column("search_id", sa.Text(), nullable=True),
        sa.Column("conversation_id", sa.Text(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("data", Json, nullable=False),
        sa.UniqueConstraint("tenant_id", "event_id", name="uq_events_event_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_tenant_at", "events", ["tenant_id", "at", "id"])
    op.create_index("ix_events_tenant_kind_at", "events", ["tenant_id", "kind", "at"])
    op.create_index("ix_events_tenant_user", "events", ["tenant_id", "user_id"])
    op.create_index("ix_events_tenant_document", "events", ["tenant_id", "document_id"])
    op.create_table(
        "trained_models",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("traffic_share", sa.Float(), nullable=True),
        sa.Column("embedder", sa.Text(), nullable=True),
        sa.Column("data_hash", sa.Text(), nullable=False),
        sa.Column("labels", Json, nullable=False),
        sa.Column("metrics", Json, nullable=False),
        sa.Column("params", Json, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("activated_at", Timestamp, nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("tenant_id", "kind", "name", "version", name="uq_trained_models_version"),
    )
    op.create_index("ix_trained_models_status", "trained_models", ["tenant_id", "kind", "name", "status"])
    op.create_table(
        "intent_routes",
        sa.Column("tenant_id", sa.Text(), primary_key=True),
        sa.Column("intent", sa.Text(), primary_key=True),
        sa.Column("collection", sa.Text(), nullable=True),
        sa.Column("tags", Json, nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("escalate", sa.Boolean(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intent_routes")
    op.drop_index("ix_trained_models_status", table_name="trained_models")
    op.drop_table("trained_models")
    for index in (
        "ix_events_tenant_document",
        "ix_events_tenant_user",
        "ix_events_tenant_kind_at",
        "ix_events_tenant_at",
    ):
        op.drop_index(index, table_name="events")
    op.drop_table("events")
