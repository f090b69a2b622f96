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
    sa.Column("name", sa.Text(), nullable=True),
    sa.Column("disabled_at", UtcDateTime(), nullable=True),  # set: its keys and sessions stop working at once
    sa.Column("settings", Json, nullable=False, server_default="{}"),  # policy: providers, quotas, MFA, OIDC
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
    # Who wrote it ("user:<id>", "key:<id>", "operator"), and whether `document_access` narrows its readers.
    sa.Column("owner", sa.Text(), nullable=True),
    sa.Column("restricted", sa.Boolean(), nullable=False, server_default=sa.false()),
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
    sa.Index("ix_documents_restricted", "tenant_id", "restricted"),  # a search's hidden documents, or none
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
    # Who started it ("user:<id>" or "key:<id>"), and the embedding page's opaque end-user id if any.
    sa.Column("owner", sa.Text(), nullable=True),
    sa.Column("end_user", sa.Text(), nullable=True),
    sa.Index("ix_conversations_tenant_newest", "tenant_id", "created_at", "id"),
    sa.Index("ix_conversations_end_user", "tenant_id", "end_user"),
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

# A question asked in two steps (the web UI posts it, then opens the stream of its answer): kept here between
# them, so any worker can answer it, and taken out by the one that does, so it is answered once.
held_questions = sa.Table(
    "held_questions",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),  # a random token: the answer stream's address
    sa.Column("tenant_id", sa.Text(), nullable=False),
    sa.Column(
        "conversation_id", sa.Text(), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("asker", sa.Text(), nullable=False),  # the actor who asked: only it may take the question
    sa.Column("end_user", sa.Text(), nullable=True),
    sa.Column("question", Json, nullable=False),  # the API's MessageIn, as posted
    _created_at(),
    sa.Index("ix_held_questions_created", "created_at"),
)


# --- identities, permissions, audit, usage and secrets ---------------------------------------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("email", sa.Text(), nullable=False),  # lower-cased
    sa.Column("password_hash", sa.Text(), nullable=True),  # argon2; NULL: single sign-on only
    sa.Column("role", sa.Text(), nullable=False),  # "owner" | "admin" | "editor" | "viewer"
    sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("locked_until", UtcDateTime(), nullable=True),
    sa.Column("mfa_secret", sa.Text(), nullable=True),  # encrypted TOTP secret
    sa.Column("mfa_enabled_at", UtcDateTime(), nullable=True),
    sa.Column("mfa_last_step", sa.BigInteger(), nullable=True),  # newest TOTP time step used: no replays
    sa.Column("oidc_subject", sa.Text(), nullable=True),
    sa.Column("disabled_at", UtcDateTime(), nullable=True),
    _created_at(),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("tenant_id", "email", name="uq_users_email"),
    sa.UniqueConstraint("tenant_id", "oidc_subject", name="uq_users_oidc_subject"),
    sa.Index("ix_users_tenant_newest", "tenant_id", "created_at", "id"),
)

recovery_codes = sa.Table(
    "recovery_codes",
    metadata,
    sa.Column("user_id", sa.Text(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("code_hash", sa.Text(), primary_key=True),
    sa.Column("used_at", UtcDateTime(), nullable=True),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.Text(), primary_key=True),
    sa.Column("family_id", sa.Text(), nullable=False),  # every rotation of one login; reuse revokes them all
    # "refresh": rotated on every use; "session": a web session's cookie, used until it expires or is revoked.
    sa.Column("kind", sa.Text(), nullable=False, server_default="refresh"),
    sa.Column("user_id", sa.Text(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("tenant_id", sa.Text(), nullable=False),
    _created_at(),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("used_at", UtcDateTime(), nullable=True),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Index("ix_refresh_tokens_family", "family_id"),
    sa.Index("ix_refresh_tokens_user", "user_id"),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("name", sa.Text(), primary_key=True),
    _created_at(),
)

group_members = sa.Table(
    "group_members",
    metadata,
    sa.Column("tenant_id", sa.Text(), primary_key=True),
    sa.Column("group_name", sa.Text(), primary_key=True),
    sa.Column("user_id", sa.Text(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.ForeignKeyConstraint(
        ["tenant_id", "group_name"],
        ["groups.tenant_id", "groups.name"],
        name="fk_group_members_group",
        ondelete="CASCADE",
    ),
    sa.Index("ix_group_members_user", "user_id"),
)

document_access = sa.Table(
    "document_access",
    metadata,
    sa.Column("document_id", sa.Text(), sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("principal", sa.Text(), primary_key=True),  # "group:<name>" or "user:<id>"
    sa.Column("tenant_id", sa.Text(), nullable=False),
    sa.Index("ix_document_access_principal", "tenant_id", "principal", "document_id"),
)

access_versions = sa.Table(
    "access_versions",
    metadata,
    # Raised in the transaction of every change to what a tenant's readers may not see (a restricted document
    # written or deleted, permissions or grants changed): processes keep what they resolved until it moves.
    sa.Column("tenant_id", sa.Text(), primary_key=True),
    sa.Column("version", sa.BigInteger(), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),  # the key's public prefix
    sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),  # "secret" | "publishable"
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("secret_hash", sa.Text(), nullable=False),
    sa.Column("scopes", Json, nullable=False),
    sa.Column("collections", Json, nullable=True),  # NULL: every collection
    sa.Column("groups", Json, nullable=False),  # groups whose restricted documents the key may read
    sa.Column("allowed_origins", Json, nullable=True),
    sa.Column("rate_limit", sa.Text(), nullable=True),  # a `limits` expression, e.g. "120/minute"
    sa.Column("created_by", sa.Text(), nullable=False),
    _created_at(),
    sa.Column("expires_at", UtcDateTime(), nullable=True),
    sa.Column("last_used_at", UtcDateTime(), nullable=True),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Column("replaced_by", sa.Text(), nullable=True),  # rotation: the new key's id; this one works until
    sa.Column("rotating_until", UtcDateTime(), nullable=True),  # ... this moment
    sa.Index("ix_api_keys_tenant", "tenant_id", "created_at", "id"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.Text(), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),  # per tenant, gapless: a deleted record shows
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.Text(), nullable=False),
    sa.Column("action", sa.Text(), nullable=False),
    sa.Column("target", sa.Text(), nullable=True),
    sa.Column("summary", Json, nullable=False),  # before/after of what changed; never secrets or text
    sa.Column("request_id", sa.Text(), nullable=True),
    sa.Column("client", sa.Text(), nullable=True),
    sa.Column("prev_hash", sa.Text(), nullable=False),
    sa.Column("hash", sa.Text(), nullable=False),  # sha256 over prev_hash and this record's fields
    sa.UniqueConstraint("tenant_id", "seq", name="uq_audit_log_seq"),
    sa.Index("ix_audit_log_tenant_at", "tenant_id", "at"),
    sqlite_autoincrement=True,
)

usage = sa.Table(
    "usage",
    metadata,
    sa.Column("tenant_id", sa.Text(), primary_key=True),
    sa.Column("day", sa.Text(), primary_key=True),  # YYYY-MM-DD, UTC
    sa.Column("key_id", sa.Text(), primary_key=True),  # "" when no key made the request
    sa.Column("metric", sa.Text(), primary_key=True),  # "requests", "searches", "tokens_in:openai", ...
    sa.Column("value", sa.BigInteger(), nullable=False),
)

tenant_secrets = sa.Table(
    "tenant_secrets",
    metadata,
    sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("name", sa.Text(), primary_key=True),  # e.g. "openai_api_key", "oidc_client_secret"
    sa.Column("ciphertext", sa.Text(), nullable=False),  # Fernet token under the settings' secret keys
    sa.Column("masked", sa.Text(), nullable=False),
    _created_at(),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("last_used_at", UtcDateTime(), nullable=True),
    sa.Column("failing_since", UtcDateTime(), nullable=True),  # the provider answered 401/403 with it
)


# --- support intelligence: events, trained models, intent routes --------------------------------------------

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.Text(), nullable=False),
    sa.Column("event_id", sa.Text(), nullable=False),  # the client's id (or the server's): idempotency key
    # "view" | "click" | "helpful" | "not_helpful" | "rating" | "resolved" (clients), "search" | "answer" |
    # "classified" (recorded by the server)
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),  # when it happened, as the client says (bounded)
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("user_id", sa.Text(), nullable=True),  # opaque, tenant-scoped; a publishable key's end user
    sa.Column("actor", sa.Text(), nullable=False),  # who sent it: "key:<id>", "user:<id>", "operator"
    sa.Column("document_id", sa.Text(), nullable=True),
    sa.Column("chunk_id", sa.BigInteger(), nullable=True),
    sa.Column("collection", sa.Text(), nullable=True),
    sa.Column("search_id", sa.Text(), nullable=True),  # the search a click or a feedback follows
    sa.Column("conversation_id", sa.Text(), nullable=True),
    sa.Column("message_id", sa.BigInteger(), nullable=True),  # the answer a feedback is on
    sa.Column("query", sa.Text(), nullable=True),
    sa.Column("rank", sa.Integer(), nullable=True),  # 1-based rank of the clicked hit
    sa.Column("value", sa.Float(), nullable=True),  # a rating, or a server event's confidence
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column(
        "data", Json, nullable=False
    ),  # per-kind details (a search's mode and hits, a model's predictions)
    sa.UniqueConstraint("tenant_id", "event_id", name="uq_events_event_id"),
    sa.Index("ix_events_tenant_at", "tenant_id", "at", "id"),
    sa.Index("ix_events_tenant_kind_at", "tenant_id", "kind", "at"),
    sa.Index("ix_events_tenant_user", "tenant_id", "user_id"),
    sa.Index("ix_events_tenant_document", "tenant_id", "document_id"),
    sqlite_autoincrement=True,
)

trained_models = sa.Table(
    "trained_models",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("tenant_id", sa.Text(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),  # "intents" | "adapter" | "recommender"
    sa.Column("name", sa.Text(), nullable=False),  # an intent model's name, an adapter's collection, ...
    sa.Column("version", sa.Integer(), nullable=False),  # 1, 2, ... per (tenant, kind, name)
    sa.Column("status", sa.Text(), nullable=False),  # "candidate" | "active" | "shadow" | "retired"
    sa.Column("traffic_share", sa.Float(), nullable=True),  # a candidate serving this share of requests (A/B)
    sa.Column("embedder", sa.Text(), nullable=True),  # the model id whose vectors it was trained on
    sa.Column("data_hash", sa.Text(), nullable=False),  # sha256 of its training data
    sa.Column("labels", Json, nullable=False),
    sa.Column("metrics", Json, nullable=False),
    sa.Column("params", Json, nullable=False),
    _created_at(),
    sa.Column("activated_at", UtcDateTime(), nullable=True),
    sa.Column("payload", sa.LargeBinary(), nullable=False),  # the fitted model, `lore.intelligence`'s format
    sa.UniqueConstraint("tenant_id", "kind", "name", "version", name="uq_trained_models_version"),
    sa.Index("ix_trained_models_status", "tenant_id", "kind", "name", "status"),
)

intent_routes = sa.Table(
    "intent_routes",
    metadata,
    sa.Column("tenant_id", sa.Text(), primary_key=True),
    sa.Column("intent", sa.Text(), primary_key=True),
    sa.Column("collection", sa.Text(), nullable=True),  # search this collection for it
    sa.Column("tags", Json, nullable=False),  # ... narrowed to these tags
    sa.Column("reply", sa.Text(), nullable=True),  # a canned reply instead of an answer
    sa.Column("escalate", sa.Boolean(), nullable=False),  # hand the conversation to a human
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)


# --- webhooks: tenants' endpoints and the log of each delivery ----------------------------------------------

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("events", Json, nullable=False),  # the event types it subscribes to
    sa.Column("collections", Json, nullable=True),  # only events in these collections; NULL: every event
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("secret", sa.Text(), nullable=False),  # Fernet token of the whsec_ signing secret
    sa.Column("previous_secret", sa.Text(), nullable=True),  # still signing until `previous_until`
    sa.Column("previous_until", UtcDateTime(), nullable=True),
    sa.Column("failures", sa.Integer(), nullable=False),  # failed attempts since the last success
    sa.Column("failing_since", UtcDateTime(), nullable=True),
    sa.Column("disabled_reason", sa.Text(), nullable=True),
    _created_at(),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_webhooks_tenant", "tenant_id", "created_at", "id"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("tenant_id", sa.Text(), nullable=False),
    sa.Column("webhook_id", sa.Text(), sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("event_id", sa.Text(), nullable=False),  # the webhook-id header: receivers dedupe on it
    sa.Column("event_type", sa.Text(), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),  # the exact body that is signed and sent
    sa.Column("state", sa.Text(), nullable=False),  # "pending" | "delivered" | "failed"
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("status_code", sa.Integer(), nullable=True),  # of the last attempt
    sa.Column("latency_ms", sa.Float(), nullable=True),  # of the last attempt
    sa.Column("error", sa.Text(), nullable=True),  # of the last failed attempt
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
    sa.Column("job_id", sa.Text(), nullable=True),
    _created_at(),
    sa.Column("delivered_at", UtcDateTime(), nullable=True),
    sa.Index("ix_webhook_deliveries_newest", "webhook_id", "created_at", "id"),
)

# --- notices: an announcement made once per tenant, subject and period, whichever process gets there first --

notices = sa.Table(
    "notices",
    metadata,
    sa.Column("tenant_id", sa.Text(), primary_key=True),
    sa.Column("event_type", sa.Text(), primary_key=True),  # the bus event it announced: "quota.near"
    sa.Column("subject", sa.Text(), primary_key=True),  # what it is about: a quota's name, a key's id
    sa.Column("period", sa.Text(), primary_key=True),  # what it holds for: a UTC day, a key's expiry
    _created_at(),
)

# --- sources: what `lore sync` keeps collections equal to, on a schedule ---------------------------------

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("tenant_id", sa.Text(), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),  # a connector's name: folder, website, archive, a plug-in's
    sa.Column("location", sa.Text(), nullable=False),
    sa.Column("collection", sa.Text(), nullable=False),
    sa.Column("options", Json, nullable=False),
    sa.Column("interval_seconds", sa.Integer(), nullable=True),  # NULL: synced on request only
    sa.Column("next_run_at", UtcDateTime(), nullable=True),  # claimed by a conditional UPDATE
    sa.Column("state", Json, nullable=False),  # the documents it owns, with their validators and links
    sa.Column("last_run", Json, nullable=True),  # the last sync's report
    sa.Column("last_run_at", UtcDateTime(), nullable=True),
    _created_at(),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("tenant_id", "name", name="uq_sources_tenant_name"),
    sa.Index("ix_sources_tenant", "tenant_id", "created_at", "id"),
    sa.Index("ix_sources_due", "next_run_at"),
)
