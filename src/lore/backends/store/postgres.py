"""`PostgresDatabase`: the scaled-out database, PostgreSQL through psycopg 3, shared by every replica and worker.

Keywords are normalised in Python exactly as for SQLite (`lore.core.keywords`) and stored verbatim as a
`tsvector` (one lexeme per term, its positions giving the term frequency) in `chunks_fts`, with a GIN index;
PostgreSQL's own parser never sees the text, so both backends agree on what a term is. Queries OR the terms
as quoted lexemes and rank with BM25 (see `lore.backends.store.pg_keywords`).

Writers take one transaction-level advisory lock: change sequence numbers are then committed in the order they
are drawn, so a replica replaying `changes_since(seq)` can never step over a change that commits late.

    >>> db = PostgresDatabase("postgresql://lore:secret@db:5432/lore", pool_size=10)
    >>> db.migrate()
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from lore.backends.store import codec, pg_keywords, refusing_unstorable
from lore.backends.store.database import Database
from lore.backends.store.key_stamp import KeyStamp, NotifyStamp
from lore.backends.store.queries import Condition
from lore.backends.store.schema import documents
from lore.errors import InvalidInput
from lore.models import MetadataValue

WRITE_LOCK = 0x6C6F7265  # "lore": the advisory lock key every write transaction holds until it commits
_SCALARS = (str, int, float, bool)


def engine_url(url: str) -> sa.URL:
    """Users write `postgresql://`; SQLAlchemy is told to use psycopg 3 (its default would be psycopg2)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"PostgresDatabase needs a postgresql:// URL, not {parsed.drivername!r}")
    return parsed.set(drivername="postgresql+psycopg")


def create_engine(url: str, *, pool_size: int) -> sa.Engine:
    """A pooled engine; `pool_pre_ping` replaces connections the server or a proxy closed meanwhile."""
    return sa.create_engine(
        engine_url(url),
        pool_size=pool_size,
        max_overflow=0,  # a fixed number of connections per process: the server's limit is shared
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"application_name": "lore"},
    )


_engines: weakref.WeakValueDictionary[tuple[str, int], sa.Engine] = weakref.WeakValueDictionary()
_engines_lock = threading.Lock()


def shared_engine(url: str, *, pool_size: int) -> sa.Engine:
    """One pool per database and process, shared by the database and the pgvector index: a process holds at
    most `pool_size` connections, and closing the database returns every one of them."""
    key = (url, pool_size)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = create_engine(url, pool_size=pool_size)
        return engine


class PostgresDatabase(Database):
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        super().__init__(shared_engine(url, pool_size=pool_size))
        self._stems = pg_keywords.Stems()

    def _key_stamp(self) -> KeyStamp:
        return NotifyStamp(self.engine)

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        with refusing_unstorable(), self.engine.begin() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITE_LOCK)))
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with refusing_unstorable(), self.engine.connect() as conn:
            yield conn

    def _index_keywords(self, conn: sa.Connection, rows: Sequence[tuple[int, str]]) -> None:
        pg_keywords.index(conn, rows, self._stems)

    def _unindex_keywords(self, conn: sa.Connection, chunk_ids: Sequence[int]) -> None:
        for batch in codec.in_batches(chunk_ids):
            pg_keywords.unindex(conn, batch)

    def _keyword_select(
        self,
        _conn: sa.Connection,
        terms: Sequence[str],
        conditions: Sequence[Condition],
        only_ids: Sequence[int] | None = None,
    ) -> sa.Select[Any]:
        return pg_keywords.select(terms, conditions, only_ids)

    def _metadata_equals(self, key: str, value: MetadataValue) -> Condition:
        """jsonb equality: numbers by value (1 = 1.0), types kept apart ("1" != 1, true != 1)."""
        if not isinstance(value, _SCALARS):
            raise InvalidInput("metadata filters take strings, numbers or booleans", details={"key": key})
        field = documents.c["metadata"].op("->", return_type=JSONB)(sa.literal(key, sa.Text()))
        return field == sa.cast(sa.literal(json.dumps(value), sa.Text()), JSONB)
