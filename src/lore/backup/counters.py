"""Id counters: the highest id each auto-incrementing table has handed out.

Chunk ids label vectors and appear in the change sequence, so they are never reused, not even the ids of rows
deleted before the backup. A restore therefore carries each table's counter over (SQLite's `sqlite_sequence`,
PostgreSQL's sequences), whichever database wrote the archive and whichever reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

_sqlite_sequence = sa.table("sqlite_sequence", sa.column("name", sa.Text()), sa.column("seq", sa.Integer()))


def counted(tables: Sequence[sa.Table]) -> dict[str, sa.Column[int]]:
    """Table name -> its auto-incrementing id column, for the tables that have one."""
    return {t.name: t.autoincrement_column for t in tables if t.autoincrement_column is not None}


def read(conn: sa.Connection, tables: Sequence[sa.Table]) -> dict[str, int]:
    """The highest id each table has handed out (at least its largest id present)."""
    columns = counted(tables)
    highest = {
        name: int(conn.execute(sa.select(sa.func.max(c))).scalar() or 0) for name, c in columns.items()
    }
    handed_out: dict[str, int] = {}
    if conn.dialect.name == "sqlite":
        handed_out = _sqlite_counters(conn)
    elif conn.dialect.name == "postgresql":
        handed_out = _pg_counters(conn, columns)
    return {name: max(value, handed_out.get(name, 0)) for name, value in highest.items()}


def restore(conn: sa.Connection, counters: dict[str, int], tables: Sequence[sa.Table]) -> None:
    """Move each table's counter up to the archived one (never down)."""
    columns = counted(tables)
    for name, value in counters.items():
        if name not in columns or value < 1:
            continue
        if conn.dialect.name == "sqlite":
            _raise_sqlite_counter(conn, name, value)
        elif conn.dialect.name == "postgresql":
            _raise_pg_sequence(conn, columns[name], value)


def _sqlite_counters(conn: sa.Connection) -> dict[str, int]:
    if not sa.inspect(conn).has_table("sqlite_sequence"):
        return {}
    rows = conn.execute(sa.select(_sqlite_sequence.c.name, _sqlite_sequence.c.seq))
    return {str(name): int(seq or 0) for name, seq in rows}


def _raise_sqlite_counter(conn: sa.Connection, table: str, value: int) -> None:
    ddl = conn.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    )
    if "AUTOINCREMENT" not in (ddl.scalar() or "").upper():
        return  # without AUTOINCREMENT SQLite keeps no counter: ids continue from the largest present
    where = _sqlite_sequence.c.name == table
    current = conn.execute(sa.select(_sqlite_sequence.c.seq).where(where)).scalar()
    if current is None:
        conn.execute(sa.insert(_sqlite_sequence).values(name=table, seq=value))
    elif current < value:
        conn.execute(sa.update(_sqlite_sequence).where(where).values(seq=value))


def _pg_counters(conn: sa.Connection, columns: dict[str, sa.Column[int]]) -> dict[str, int]:
    found = {name: _pg_sequence(conn, column) for name, column in columns.items()}
    return {name: _pg_last_value(conn, sequence) for name, sequence in found.items() if sequence}


def _pg_sequence(conn: sa.Connection, column: sa.Column[int]) -> str | None:
    """The sequence behind a serial or identity column (None for a plain integer key)."""
    query = sa.text("SELECT pg_get_serial_sequence(:t, :c)")
    return conn.execute(query, {"t": column.table.name, "c": column.name}).scalar()


def _pg_last_value(conn: sa.Connection, sequence: str) -> int:
    query = sa.text("SELECT pg_sequence_last_value(CAST(:s AS regclass))")  # NULL before its first use
    return int(conn.execute(query, {"s": sequence}).scalar() or 0)


def _raise_pg_sequence(conn: sa.Connection, column: sa.Column[int], value: int) -> None:
    sequence = _pg_sequence(conn, column)
    if sequence is not None and _pg_last_value(conn, sequence) < value:
        conn.execute(sa.text("SELECT setval(CAST(:s AS regclass), :v)"), {"s": sequence, "v": value})
