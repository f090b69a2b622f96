"""`Database`: Lore's source of truth, a SQL database, with one repository per concern hanging on it.

    >>> db = SqliteDatabase.from_path(Path("lore-data/lore.db"))
    >>> db.migrate()
    >>> db.documents.write_document(draft, chunks, vectors, model_id="minilm-l6-v2@int8")
    >>> db.changes.changes_since(0)

A backend is a subclass (SQLite, PostgreSQL, or a third party's): it supplies the engine, how a write
transaction starts, and the dialect's keyword index and JSON comparison, the `_`-prefixed hooks. The
repositories are written once in dialect-neutral SQLAlchemy Core over these hooks, and the write steps several
of them take (a collection's row, the vector cache, a collection's models) live here, so the backends cannot
drift apart.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lore.backends.store import codec, queries, rows
from lore.backends.store.access_records import AccessRecords
from lore.backends.store.api_keys import ApiKeyRecords
from lore.backends.store.audit_records import AuditRecords
from lore.backends.store.catalogue import CatalogueRecords
from lore.backends.store.change_feed import SqlChangeFeed
from lore.backends.store.conversation_records import ConversationRecords
from lore.backends.store.documents import SqlDocuments
from lore.backends.store.embedding_versions import SqlReembedding
from lore.backends.store.event_records import EventRecords
from lore.backends.store.group_records import GroupRecords
from lore.backends.store.intent_routes import IntentRouteRecords
from lore.backends.store.job_records import JobRecords
from lore.backends.store.key_stamp import KeyStamp, NoStamp
from lore.backends.store.keyword_search import SqlKeywordSearch
from lore.backends.store.notice_records import NoticeRecords
from lore.backends.store.schema import chunks, collections, documents, embeddings, tenants
from lore.backends.store.secret_records import SecretRecords
from lore.backends.store.source_records import SourceRecords
from lore.backends.store.tenant_records import TenantRecords
from lore.backends.store.trained_models import TrainedModelRecords
from lore.backends.store.usage_records import UsageRecords
from lore.backends.store.user_records import UserRecords
from lore.backends.store.vector_source import SqlVectorSource
from lore.backends.store.webhook_records import WebhookRecords
from lore.errors import InvalidInput
from lore.interfaces import ChangeFeed, Documents, KeywordSearch, Reembedding, VectorSource
from lore.migrations import head_revision
from lore.models import CollectionModels, MetadataValue, utcnow


class Database(abc.ABC):
    """The engine, its transactions and the dialect hooks; `documents`, `changes`, `vectors`, `keywords`,
    `reembedding`, `access`, `groups`, `jobs`, `conversations`, `tenants`, `api_keys`, `usage`, `users`, `audit`,
    `secrets`, `events`, `trained_models`, `catalogue`, `intent_routes`, `webhooks`, `notices` and `sources`
    are the repositories callers use."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.key_stamp = self._key_stamp()  # changed by every write that can change whether a key is valid
        self.documents: Documents = SqlDocuments(self)
        self.changes: ChangeFeed = SqlChangeFeed(self)
        self.vectors: VectorSource = SqlVectorSource(self)
        self.keywords: KeywordSearch = SqlKeywordSearch(self)
        self.reembedding: Reembedding = SqlReembedding(self)
        self.access = AccessRecords(self)
        self.groups = GroupRecords(self)
        # Jobs and conversations join no change sequence: their single-statement writes need no writer lock.
        self.jobs = JobRecords(engine)
        self.conversations = ConversationRecords(engine)
        self.tenants = TenantRecords(engine, self.key_stamp)
        self.api_keys = ApiKeyRecords(engine, self.key_stamp)
        self.usage = UsageRecords(self)
        self.users = UserRecords(engine)
        self.audit = AuditRecords(self)
        self.secrets = SecretRecords(self)
        self.events = EventRecords(self)
        self.trained_models = TrainedModelRecords(self)
        self.catalogue = CatalogueRecords(self)
        self.intent_routes = IntentRouteRecords(self)
        self.webhooks = WebhookRecords(self)
        self.notices = NoticeRecords(self)
        self.sources = SourceRecords(self)

    # --- transactions ------------------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction; backends override it to serialise writers their own way."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """One read transaction: a consistent snapshot for the statements inside it."""
        with self.engine.connect() as conn:
            yield conn

    # --- what a backend provides -------------------------------------------------------------------------

    @abc.abstractmethod
    def _index_keywords(self, conn: sa.Connection, rows: Sequence[tuple[int, str]]) -> None:
        """Add (chunk id, `rows.keyword_text`) rows to the keyword index."""

    @abc.abstractmethod
    def _unindex_keywords(self, conn: sa.Connection, chunk_ids: Sequence[int]) -> None: ...

    @abc.abstractmethod
    def _keyword_select(
        self,
        conn: sa.Connection,
        terms: Sequence[str],
        conditions: Sequence[queries.Condition],
        only_ids: Sequence[int] | None = None,
    ) -> sa.Select[Any]:
        """(chunk id, score) of the chunks matching any term and every condition on `chunks`, best first;
        `only_ids` narrows to those chunks (scoring only them is the point: scoring is the expensive part).
        `conn` is the reading connection, for a backend that must look something up to build the query."""

    @abc.abstractmethod
    def _metadata_equals(self, key: str, value: MetadataValue) -> queries.Condition:
        """`documents.metadata[key]` equals `value`, type included (the string "1" is not the number 1)."""

    def _key_stamp(self) -> KeyStamp:
        """How other processes hear that keys changed; a backend without a way gets `NoStamp` (no key cache)."""
        return NoStamp()

    def _insert(self, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT that can say ON CONFLICT: the one clause SQLAlchemy spells per dialect."""
        if self.engine.dialect.name == "sqlite":
            return sqlite.insert(table)
        return postgresql.insert(table)

    # --- schema and lifecycle ----------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent; a store already there costs one query and
        no import of Alembic)."""
        if self.revision() == head_revision():
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        location = str(resources.files("lore.migrations")).replace("%", "%%")
        config.set_main_option("script_location", location)
        config.set_main_option("path_separator", "os")
        with self.write() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def revision(self) -> str | None:
        """The schema's migration revision (None: not migrated yet)."""
        version = sa.table("alembic_version", sa.column("version_num", sa.Text()))
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.select(version.c.version_num)).scalar()

    def close(self) -> None:
        self.key_stamp.close()
        self.engine.dispose()

    # --- backup and restore ------------------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[sa.Connection]:
        """One read-only transaction whose statements all see the same moment while writers carry on (a WAL
        read transaction on SQLite, REPEATABLE READ on PostgreSQL): a backup reads every table through it."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn

    @contextmanager
    def bulk_load(self) -> Iterator[sa.Connection]:
        """One write transaction for rows inserted around the repositories (a restore); the keyword index is
        rebuilt from the chunks inside it, so it commits together with them."""
        with self.write() as conn:
            yield conn
            self._reindex_keywords(conn)

    def _reindex_keywords(self, conn: sa.Connection, batch_size: int = codec.BATCH) -> None:
        """Index every chunk's keywords afresh (each chunk's old rows, if any, are dropped first)."""
        fields = (chunks.c.id, documents.c.title, chunks.c.heading_path, chunks.c.text)
        after = 0
        while True:
            query = sa.select(*fields).select_from(queries.CHUNKS_WITH_DOCUMENTS).where(chunks.c.id > after)
            found = conn.execute(query.order_by(chunks.c.id).limit(batch_size)).all()
            if not found:
                return
            ids = [int(row.id) for row in found]
            self._unindex_keywords(conn, ids)
            texts = [rows.keyword_text(row.title, row.heading_path, row.text) for row in found]
            self._index_keywords(conn, list(zip(ids, texts, strict=True)))
            after = ids[-1]

    # --- write steps the repositories share --------------------------------------------------------------

    def _ensure_collection(self, conn: sa.Connection, tenant_id: str, collection: str) -> None:
        now = utcnow()
        conn.execute(self._insert(tenants).values(id=tenant_id, created_at=now).on_conflict_do_nothing())
        row = {"tenant_id": tenant_id, "name": collection, "created_at": now}
        conn.execute(self._insert(collections).values(row).on_conflict_do_nothing())

    def _cache_vectors(
        self, conn: sa.Connection, model_id: str, dim: int, blobs: Mapping[str, bytes]
    ) -> None:
        if not blobs:
            return
        cached_dim = conn.execute(
            sa.select(embeddings.c.dim).where(embeddings.c.model_id == model_id).limit(1)
        ).scalar()
        if cached_dim is not None and cached_dim != dim:
            raise InvalidInput(
                "vector length differs from the model's cached vectors",
                details={"model_id": model_id, "dim": dim, "cached_dim": cached_dim},
            )
        values = [
            {"model_id": model_id, "content_hash": h, "dim": dim, "vector": b} for h, b in blobs.items()
        ]
        conn.execute(self._insert(embeddings).on_conflict_do_nothing(), values)

    def _models_of(self, conn: sa.Connection, tenant_id: str, collection: str) -> CollectionModels:
        query = sa.select(*queries.MODEL_FIELDS).where(*queries.collection_is(tenant_id, collection))
        row = conn.execute(query).first()
        return (
            rows.collection_models(row) if row is not None else CollectionModels(tenant_id, collection, None)
        )
