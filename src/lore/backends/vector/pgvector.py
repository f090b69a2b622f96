"""`PgvectorIndex`: the vector index inside the PostgreSQL store, shared by every replica.

Tables (created on first use, under an advisory lock so that replicas starting together do not race):

    pgvector_state           one row: applied_seq, the last store change every replica may take as applied
    pgvector_d<dim>          (partition, chunk_id) -> embedding vector(<dim>), one table per dimension;
                             pgvector needs a fixed dimension per index

The HNSW index (vector_cosine_ops) of a table is built once the table holds `index_above` vectors: below that an
exact scan is fast, and building a graph in one go costs far less than growing it row by row.

Several processes apply the same changes: adds are upserts that leave an identical row untouched (no new row
version, no new graph entry), removes ignore what is gone, and `mark_applied` never moves `applied_seq`
backwards. Everything is committed as it happens, so `save` has nothing to flush.

Search is exact (a scan of the partitions' rows by primary key) when the partitions hold fewer than
`exact_below` vectors or an `allowed` set is small; otherwise HNSW with pgvector 0.8's iterative scans in
strict order, so a filter (partitions, allowed ids) keeps scanning the graph until k rows pass it.
Vectors travel in pgvector's binary format (a psycopg dumper for numpy arrays; `vector_send` to read).

    >>> index = PgvectorIndex("postgresql://lore:secret@db/lore")
    >>> index.add("default/default/minilm-l6-v2@int8", ids, vectors)
"""

from __future__ import annotations

import struct
import weakref
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, overload

import numpy as np
import psycopg
import sqlalchemy as sa
from psycopg.adapt import Dumper
from psycopg.pq import Format

from lore.backends.store.postgres import shared_engine
from lore.backends.vector.hnsw import HnswOptions
from lore.errors import InvalidInput
from lore.models import IdVectors, ScoredChunk

DDL_LOCK = 0x6C6F7276  # advisory lock key held while creating tables and indexes
BATCH = 1000  # rows per upsert statement
EXACT_ALLOWED_LIMIT = 20_000  # allowed sets up to this size are scored exactly, by primary key


_BIG_ENDIAN = np.dtype(">f4")


def vector_dumper(oid: int) -> type[Dumper]:
    """A psycopg dumper sending numpy arrays as pgvector's binary `vector` (dim, unused, big-endian float4)."""

    class VectorDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: Any) -> bytes:
            array = np.asarray(obj, dtype=_BIG_ENDIAN).reshape(-1)
            return struct.pack(">HH", array.size, 0) + array.tobytes()

    VectorDumper.oid = oid
    return VectorDumper


def parse_vector(sent: bytes) -> np.ndarray:
    """A vector from `vector_send(embedding)`."""
    return np.frombuffer(sent, dtype=_BIG_ENDIAN, offset=4).astype(np.float32)


class PgvectorIndex:
    """`lore.interfaces.VectorIndex` on pgvector tables in the store's database."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        hnsw: HnswOptions = HnswOptions(),
        index_above: int = 10_000,
        exact_allowed: int = EXACT_ALLOWED_LIMIT,
    ) -> None:
        self.engine = shared_engine(url, pool_size=pool_size)
        self._hnsw = hnsw
        self._index_above = index_above
        self._exact_allowed = exact_allowed
        self._indexed: set[int] = set()
        self._dims: set[int] = set()
        with self._ddl() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
            oid = conn.exec_driver_sql("SELECT 'vector'::regtype::oid").scalar_one()
            conn.exec_driver_sql(
                "CREATE TABLE IF NOT EXISTS pgvector_state ("
                "id INTEGER PRIMARY KEY CHECK (id = 1), applied_seq BIGINT NOT NULL)"
            )
            conn.exec_driver_sql(
                "INSERT INTO pgvector_state (id, applied_seq) VALUES (1, 0) ON CONFLICT DO NOTHING"
            )
        _send_vectors_binary(self.engine, int(oid))

    # --- writes ------------------------------------------------------------------------------------------

    def add(self, partition: str, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = _checked_batch(ids, vectors)
        if not len(ids):
            return
        table = self._table(vectors.shape[1], create=True)
        statement = sa.text(
            f"INSERT INTO {table} AS t (partition, chunk_id, embedding) VALUES (:partition, :chunk_id, :embedding) "
            f"ON CONFLICT (partition, chunk_id) DO UPDATE SET embedding = EXCLUDED.embedding "
            f"WHERE t.embedding IS DISTINCT FROM EXCLUDED.embedding"
        )
        with self.engine.begin() as conn:
            for start in range(0, len(ids), BATCH):
                rows = [
                    {"partition": partition, "chunk_id": int(i), "embedding": v}
                    for i, v in zip(ids[start : start + BATCH], vectors[start : start + BATCH], strict=True)
                ]
                conn.execute(statement, rows)
        self._index_when_large(table, vectors.shape[1])

    def remove(self, partition: str, ids: Sequence[int]) -> None:
        wanted = [int(i) for i in ids]
        if not wanted:
            return
        with self.engine.begin() as conn:
            for table in self._tables(conn):
                conn.execute(
                    sa.text(f"DELETE FROM {table} WHERE partition = :partition AND chunk_id = ANY(:ids)"),
                    {"partition": partition, "ids": wanted},
                )

    # --- reads -------------------------------------------------------------------------------------------

    def search(
        self,
        partitions: Sequence[str],
        query: np.ndarray,
        k: int,
        allowed: Collection[int] | None = None,
    ) -> list[ScoredChunk]:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if k < 1 or not partitions or (allowed is not None and not allowed) or not np.isfinite(q).all():
            return []
        table = self._table(len(q), create=False)
        if table is None:
            return []
        params = {"partitions": list(partitions), "q": q, "k": k}
        with self.engine.begin() as conn:
            if allowed is not None and len(allowed) <= self._exact_allowed:
                rows = conn.execute(_exact(table, by_ids=True), {**params, "ids": [int(i) for i in allowed]})
            elif self._small(conn, table, list(partitions)):
                rows = conn.execute(_exact(table, by_ids=allowed is not None), params)
            else:
                rows = self._approximate(conn, table, params, allowed)
            return [ScoredChunk(int(chunk_id), float(similarity)) for chunk_id, similarity in rows]

    def vectors(self, partitions: Sequence[str], ids: Sequence[int]) -> IdVectors:
        wanted = [int(i) for i in ids]
        found: dict[int, np.ndarray] = {}
        dim = 0
        with self.engine.connect() as conn:
            for table in self._tables(conn):
                rows = conn.execute(
                    sa.text(
                        f"SELECT chunk_id, vector_send(embedding) FROM {table} "
                        f"WHERE partition = ANY(:partitions) AND chunk_id = ANY(:ids)"
                    ),
                    {"partitions": list(partitions), "ids": wanted},
                )
                for chunk_id, sent in rows:
                    found[int(chunk_id)] = parse_vector(sent)
                dim = dim or int(table.removeprefix("pgvector_d"))
        present = [i for i in dict.fromkeys(wanted) if i in found]
        if not present:
            return IdVectors(np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32))
        return IdVectors(np.array(present, dtype=np.int64), np.stack([found[i] for i in present]))

    def count(self, partition: str) -> int:
        with self.engine.connect() as conn:
            return sum(
                int(
                    conn.execute(
                        sa.text(f"SELECT count(*) FROM {t} WHERE partition = :p"), {"p": partition}
                    ).scalar_one()
                )
                for t in self._tables(conn)
            )

    # --- state -------------------------------------------------------------------------------------------

    @property
    def applied_seq(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.exec_driver_sql("SELECT applied_seq FROM pgvector_state WHERE id = 1").scalar_one()
            )

    def mark_applied(self, seq: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE pgvector_state SET applied_seq = greatest(applied_seq, :seq) WHERE id = 1"),
                {"seq": int(seq)},
            )

    def save(self) -> None:
        """Every write is already committed."""

    def clear(self) -> None:
        with self.engine.begin() as conn:
            tables = self._tables(conn)
            if tables:
                conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)}")
            conn.exec_driver_sql("UPDATE pgvector_state SET applied_seq = 0 WHERE id = 1")

    def close(self) -> None:
        """Return the pooled connections (shared with a `PostgresDatabase` on the same database)."""
        self.engine.dispose()

    # --- tables ------------------------------------------------------------------------------------------

    @contextmanager
    def _ddl(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(DDL_LOCK)))
            yield conn

    def _tables(self, conn: sa.Connection) -> list[str]:
        names = conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename ~ '^pgvector_d[0-9]+$' ORDER BY tablename"
        ).scalars()
        return list(names)

    @overload
    def _table(self, dim: int, *, create: Literal[True]) -> str: ...

    @overload
    def _table(self, dim: int, *, create: Literal[False]) -> str | None: ...

    def _table(self, dim: int, *, create: bool) -> str | None:
        name = f"pgvector_d{int(dim)}"
        if dim in self._dims:
            return name
        with self._ddl() as conn:
            if name not in self._tables(conn):
                if not create:
                    return None
                self._create(conn, name, dim)
        self._dims.add(dim)
        return name

    def _create(self, conn: sa.Connection, name: str, dim: int) -> None:
        conn.exec_driver_sql(
            f"CREATE TABLE {name} (partition TEXT NOT NULL, chunk_id BIGINT NOT NULL, "
            f"embedding vector({dim}) NOT NULL, PRIMARY KEY (partition, chunk_id))"
        )

    def _index_when_large(self, table: str, dim: int) -> None:
        """Build the HNSW index once the table reaches `index_above` rows (counting no further than that)."""
        if dim in self._indexed:
            return
        with self._ddl() as conn:
            if conn.exec_driver_sql(f"SELECT 1 FROM pg_indexes WHERE indexname = '{table}_hnsw'").first():
                self._indexed.add(dim)
                return
            if not self._reaches(conn, table, "TRUE", {}, self._index_above):
                return
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
            conn.exec_driver_sql(
                f"CREATE INDEX {table}_hnsw ON {table} USING hnsw (embedding vector_cosine_ops) "
                f"WITH (m = {self._hnsw.connectivity}, ef_construction = {self._hnsw.expansion_add})"
            )
        self._indexed.add(dim)

    @staticmethod
    def _reaches(conn: sa.Connection, table: str, where: str, params: dict[str, Any], limit: int) -> bool:
        """Whether at least `limit` rows match, reading no more than that."""
        found = conn.execute(
            sa.text(f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {where} LIMIT :limit) AS probe"),
            {**params, "limit": limit},
        ).scalar_one()
        return int(found) >= limit

    def _small(self, conn: sa.Connection, table: str, partitions: list[str]) -> bool:
        """Fewer than `exact_below` vectors in these partitions."""
        where = "partition = ANY(:partitions)"
        return not self._reaches(conn, table, where, {"partitions": partitions}, self._hnsw.exact_below)

    def _approximate(
        self, conn: sa.Connection, table: str, params: dict[str, Any], allowed: Collection[int] | None
    ) -> sa.CursorResult[tuple[int, float]]:
        conn.exec_driver_sql(
            f"SET LOCAL hnsw.ef_search = {max(self._hnsw.expansion_search, int(params['k']))}"
        )
        conn.exec_driver_sql("SET LOCAL hnsw.iterative_scan = strict_order")
        where = "partition = ANY(:partitions)"
        if allowed is not None:
            where += " AND chunk_id = ANY(:ids)"
            params = {**params, "ids": [int(i) for i in allowed]}
        statement = sa.text(
            f"SELECT chunk_id, 1 - (embedding <=> :q) AS similarity FROM {table} "
            f"WHERE {where} ORDER BY embedding <=> :q LIMIT :k"
        )
        return conn.execute(statement, params)


def _exact(table: str, *, by_ids: bool) -> sa.TextClause:
    """Every candidate row scored: the sort key is not the indexed expression, so HNSW cannot be chosen."""
    where = "partition = ANY(:partitions)" + (" AND chunk_id = ANY(:ids)" if by_ids else "")
    return sa.text(
        f"SELECT chunk_id, similarity FROM (SELECT chunk_id, "
        f"1 - (embedding <=> :q) AS similarity FROM {table} WHERE {where}) AS scored "
        f"ORDER BY similarity DESC, chunk_id LIMIT :k"
    )


_dumping: weakref.WeakKeyDictionary[sa.Engine, int] = weakref.WeakKeyDictionary()


def _send_vectors_binary(engine: sa.Engine, oid: int) -> None:
    """Every connection of `engine` sends numpy arrays as `vector`; registered once per engine."""
    if _dumping.get(engine) == oid:
        return
    dumper = vector_dumper(oid)

    def register(dbapi_connection: psycopg.Connection[Any], _record: object) -> None:
        dbapi_connection.adapters.register_dumper(np.ndarray, dumper)

    sa.event.listen(engine, "connect", register)
    _dumping[engine] = oid
    engine.dispose()  # connections opened before would send arrays as text


def _checked_batch(ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(ids) != len(vectors) or (len(ids) and vectors.shape[1] == 0):
        raise InvalidInput(
            "ids and vectors must pair up", details={"ids": len(ids), "shape": list(vectors.shape)}
        )
    if not np.isfinite(vectors).all():
        raise InvalidInput("vectors must be finite")
    return ids, vectors
