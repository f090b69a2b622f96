"""Tenants with policy, users, groups, document permissions, API keys, refresh tokens, the audit log, usage
counters and encrypted per-tenant secrets; documents and conversations gain their owners.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in lore.backends.store.schema: a migration must not change when they do.
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", Timestamp, nullable=False)


def upgrade() -> None:
    _owners()
    _identities()
    _keys_and_records()


def _owners() -> None:
    # Plain ADD COLUMN, never a batch copy: on SQLite, recreating `documents` would drop the old table, and its
    # chunks with it (ON DELETE CASCADE).
    op.add_column("tenants", sa.Column("name", sa.Text(), nullable=True))
    op.add_column("tenants", sa.Column("disabled_at", Timestamp, nullable=True))
    op.add_column("tenants", sa.Column("settings", Json, nullable=False, server_default="{}"))
    op.add_column("documents", sa.Column("owner", sa.Text(), nullable=True))
    op.add_column(
        "documents", sa.Column("restricted", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("conversations", sa.Column("owner", sa.Text(), nullable=True))
    op.add_column("conversations", sa.Column("end_user", sa.Text(), nullable=True))
    op.create_index("ix_conversations_end_user", "conversations", ["tenant_id", "end_user"])


def _identities() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", Timestamp, nullable=True),
        sa.Column("mfa_secret", sa.Text(), nullable=True),
        sa.Column("mfa_enabled_at", Timestamp, nullable=True),
        sa.Column("mfa_last_step", sa.BigInteger(), nullable=True),
        sa.Column("oidc_subject", sa.Text(), nullable=True),
        sa.Column("disabled_at", Timestamp, nullable=True),
        _created_at(),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.UniqueConstraint("tenant_id", "email", name="uq_users_email"),
        sa.UniqueConstraint("tenant_id", "oidc_subject", name="uq_users_oidc_subject"),
    )
    op.create_index("ix_users_tenant_newest", "users", ["tenant_id", "created_at", "id"])
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", sa.Text(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("code_hash", sa.Text(), primary_key=True),
        sa.Column("used_at", Timestamp, nullable=True),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.Text(), primary_key=True),
        sa.Column("family_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False, server_default="refresh"),
        sa.Column("user_id", sa.Text(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tenant_id", sa.Text(), nullable=False),
        _created_at(),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("used_at", Timestamp, nullable=True),
        sa.Column("revoked_at", Timestamp, nullable=True),
    )
    op.create_index("ix_refresh_tokens_family", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_user", "refresh_tokens", ["user_id"])
    op.create_table(
        "groups",
        sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("name", sa.Text(), primary_key=True),
        _created_at(),
    )
    op.create_table(
        "group_members",
        sa.Column("tenant_id", sa.Text(), primary_key=True),
        sa.Column("group_name", sa.Text(), primary_key=True),
        sa.Column("user_id", sa.Text(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "group_name"],
            ["groups.tenant_id", "groups.name"],
            name="fk_group_members_group",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_group_members_user", "group_members", ["user_id"])
    op.create_table(
        "document_access",
        sa.Column(
            "document_id", sa.Text(), sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("principal", sa.Text(), primary_key=True),
        sa.Column("tenant_id", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_document_access_principal", "document_access", ["tenant_id", "principal", "document_id"]
    )


def _keys_and_records() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("scopes", Json, nullable=False),
        sa.Column("collections", Json, nullable=True),
        sa.Column("groups", Json, nullable=False),
        sa.Column("allowed_origins", Json, nullable=True),
        sa.Column("rate_limit", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        _created_at(),
        sa.Column("expires_at", Timestamp, nullable=True),
        sa.Column("last_used_at", Timestamp, nullable=True),
        sa.Column("revoked_at", Timestamp, nullable=True),
        sa.Column("replaced_by", sa.Text(), nullable=True),
        sa.Column("rotating_until", Timestamp, nullable=True),
    )
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant_id", "created_at", "id"])
    op.create_table(
        "audit_log",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("summary", Json, nullable=False),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("client", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.UniqueConstraint("tenant_id", "seq", name="uq_audit_log_seq"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_log_tenant_at", "audit_log", ["tenant_id", "at"])
    op.create_table(
        "usage",
        sa.Column("tenant_id", sa.Text(), primary_key=True),
        sa.Column("day", sa.Text(), primary_key=True),
        sa.Column("key_id", sa.Text(), primary_key=True),
        sa.Column("metric", sa.Text(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "tenant_secrets",
        sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("masked", sa.Text(), nullable=False),
        _created_at(),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("last_used_at", Timestamp, nullable=True),
        sa.Column("failing_since", Timestamp, nullable=True),
    )


def downgrade() -> None:
    for name in (
        "tenant_secrets",
        "usage",
        "audit_log",
        "api_keys",
        "document_access",
        "group_members",
        "groups",
        "refresh_tokens",
        "recovery_codes",
        "users",
    ):
        op.drop_table(name)
    op.drop_index("ix_conversations_end_user", "conversations")
    for table, column in ADDED_COLUMNS:  # ALTER TABLE ... DROP COLUMN, for the same reason as above
        op.drop_column(table, column)


ADDED_COLUMNS = (
    ("conversations", "end_user"),
    ("conversations", "owner"),
    ("documents", "restricted"),
    ("documents", "owner"),
    ("tenants", "settings"),
    ("tenants", "disabled_at"),
    ("tenants", "name"),
)
