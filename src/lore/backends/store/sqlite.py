"""`SqliteDatabase`: the embedded database, one SQLite file in WAL mode with an FTS5 keyword index.

Readers run concurrently on pooled connections, each statement group in a deferred transaction (a snapshot).
Writers take an in-process lock and then `BEGIN IMMEDIATE`, so threads queue on the lock and other processes
wait on SQLite's busy timeout instead of failing half-way with "database is locked".

    >>> db = SqliteDatabase.from_path(Path("lore-data/lore.db"))
    >>> db.migrate()
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lore.backends.store import codec
from lore.backends.store.database import Database
from lore.backends.store.key_stamp import FileStamp, KeyStamp
from lore.backends.store.queries import Condition
from lore.backends.store.schema import chunks, documents
from lore.errors import InvalidInput
from lore.models import MetadataValue

# The FTS5 table the migrations create: rowid = chunk id, one column holding `rows.keyword_text`.
FTS_TABLE = "chunks_fts"

_fts = sa.table(FTS_TABLE, sa.column("rowid", sa.Integer()), sa.column("body", sa.Text()))
# FTS5's hidden column named after its table: what MATCH and bm25() take
_fts_ref: sa.ColumnClause[Any] = sa.literal_column(FTS_TABLE)
_WRITE = "lore_write"  # execution option: this connection's transaction will write
_ESCAPED_IN_JSON = re.compile(r'["\\\x00-\x1f]')  # characters json.dumps escapes even without ensure_ascii
_NUMBER = ("integer", "real")  # numbers compare by value: 1 equals 1.0, as in Python
_JSON_TYPES: dict[type, tuple[str, ...]] = {str: ("text",), int: _NUMBER, float: _NUMBER}


def _json_dumps(value: object) -> str:
    """Non-ASCII kept as is: SQLite JSON paths match a key's stored spelling, not its decoded one."""
    return json.dumps(value, ensure_ascii=False)


def fts_query(terms: Sequence[str]) -> str:
    """FTS5 query matching any term; each term is quoted, so no user text is read as query syntax."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _on_connect(busy_timeout_ms: int) -> Callable[[sqlite3.Connection, object], None]:
    def configure(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's `begin` event below emits BEGIN itself
        for pragma in (
            f"busy_timeout = {busy_timeout_ms}",
            "journal_mode = WAL",
            "synchronous = NORMAL",  # durable across process crashes; a power cut may lose the last commits
            "foreign_keys = ON",
            "mmap_size = 268435456",  # shared OS pages instead of a private page cache per pooled connection
        ):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    return configure


def _on_begin(conn: sa.Connection) -> None:
    """Writers take the write lock up front: a deferred transaction that later writes can fail with BUSY."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


class SqliteDatabase(Database):
    def __init__(self, url: str, *, busy_timeout: float = 10.0, pool_size: int = 40) -> None:
        parsed = sa.make_url(url)
        if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
            raise ValueError(f"SqliteDatabase needs a sqlite:/// URL of a file, not {url!r}")
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": busy_timeout},
            pool_size=pool_size,
            max_overflow=pool_size,  # connections beyond pool_size are closed after use: keep them rare
            json_serializer=_json_dumps,
        )
        sa.event.listen(engine, "connect", _on_connect(int(busy_timeout * 1000)))
        sa.event.listen(engine, "begin", _on_begin)
        super().__init__(engine)
        self._write_lock = threading.Lock()

    @classmethod
    def from_path(cls, path: Path, **options: Any) -> SqliteDatabase:
        return cls(f"sqlite:///{path.resolve()}", **options)

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        with self._write_lock, self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def _key_stamp(self) -> KeyStamp:
        database = self.engine.url.database
        assert database is not None
        return FileStamp(Path(database + "-keystamp"))

    def _index_keywords(self, conn: sa.Connection, rows: Sequence[tuple[int, str]]) -> None:
        conn.execute(sa.insert(_fts), [{"rowid": chunk_id, "body": text} for chunk_id, text in rows])

    def _unindex_keywords(self, conn: sa.Connection, chunk_ids: Sequence[int]) -> None:
        for batch in codec.in_batches(chunk_ids):
            conn.execute(sa.delete(_fts).where(_fts.c.rowid.in_(batch)))

    def _keyword_select(
        self,
        _conn: sa.Connection,
        terms: Sequence[str],
        conditions: Sequence[Condition],
        only_ids: Sequence[int] | None = None,
    ) -> sa.Select[Any]:
        bm25 = sa.func.bm25(_fts_ref)  # negative: lower is better
        query = (
            sa.select(_fts.c.rowid, (-bm25).label("score"))
            .select_from(_fts.join(chunks, chunks.c.id == _fts.c.rowid))
            .where(_fts_ref.op("MATCH")(fts_query(terms)), *conditions)
            .order_by(bm25)
        )
        if only_ids is None:
            return query
        # `rowid + 0`: a filter on each match, not a constraint FTS5 would answer with one full query per id
        return query.where((_fts.c.rowid + 0).in_(list(only_ids)))

    def _metadata_equals(self, key: str, value: MetadataValue) -> Condition:
        """JSON type and value both match: SQLite would otherwise let `true` equal `1` and `"1"` equal `1`."""
        kinds = _json_types(key, value)
        if _ESCAPED_IN_JSON.search(key):  # a JSON path cannot name such keys: compare via json_each instead
            return _metadata_entry_equals(key, value, kinds)
        field, path = documents.c["metadata"], f'$."{key}"'
        if isinstance(value, bool):
            return sa.func.json_type(field, path).in_(kinds)
        return sa.and_(sa.func.json_type(field, path).in_(kinds), sa.func.json_extract(field, path) == value)


def _json_types(key: str, value: object) -> tuple[str, ...]:
    """The SQLite JSON types (`json_type`) a stored value may have to equal `value`."""
    if isinstance(value, bool):
        return ("true",) if value else ("false",)
    if type(value) not in _JSON_TYPES:
        raise InvalidInput("metadata filters take strings, numbers or booleans", details={"key": key})
    return _JSON_TYPES[type(value)]


def _metadata_entry_equals(key: str, value: MetadataValue, kinds: tuple[str, ...]) -> Condition:
    entries = sa.func.json_each(documents.c["metadata"]).table_valued("key", "value", "type")
    same: list[Condition] = [entries.c.key == key, entries.c.type.in_(kinds)]
    if not isinstance(value, bool):
        same.append(entries.c.value == value)
    return sa.exists(sa.select(1).select_from(entries).where(*same))
