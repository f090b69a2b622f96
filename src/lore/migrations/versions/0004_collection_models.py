"""Embedding versions: each collection's active embedding model and the one being built.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("model_id", "pending_model_id", "pending_since", "model_seq")


def upgrade() -> None:
    with op.batch_alter_table("collections") as table:
        table.add_column(sa.Column("model_id", sa.Text(), nullable=True))
        table.add_column(sa.Column("pending_model_id", sa.Text(), nullable=True))
        table.add_column(sa.Column("pending_since", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("model_seq", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("collections") as table:
        for column in reversed(COLUMNS):
            table.drop_column(column)
