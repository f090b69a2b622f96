"""`create_backup`: one consistent read of every table of the store, written as one archive."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lore.backends.store import queries
from lore.backends.store.database import Database
from lore.backends.store.schema import metadata
from lore.backup import counters, revisions
from lore.backup.archive import (
    FORMAT,
    FORMAT_VERSION,
    Manifest,
    TableEntry,
    file_digest,
    write_archive,
    write_member,
)
from lore.backup.progress import BackupReport, OnProgress, report
from lore.backup.values import column_kind, encoder
from lore.errors import InvalidInput

_PROGRESS_EVERY = 1000


def create_backup(db: Database, path: Path, on_progress: OnProgress | None = None) -> BackupReport:
    """Write every table of the database, as of one moment, to the archive `path`.

    Writers carry on meanwhile; the archive holds exactly the rows committed at the moment the read began.
    Derived data (keyword and vector indexes) is rebuilt on restore instead of being copied.
    """
    path, start = _target(path), time.perf_counter()
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as scratch:
        with db.snapshot() as conn:
            manifest, members = _dump(conn, Path(scratch), on_progress)
        size = write_archive(path, manifest, members)
    seconds = time.perf_counter() - start
    return BackupReport(path, size, manifest.revision, manifest.last_seq, manifest.rows(), seconds)


def _target(path: Path) -> Path:
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder: name the archive file", details={"path": str(path)})
    if not path.parent.is_dir():
        raise InvalidInput(f"folder {path.parent} does not exist", details={"path": str(path)})
    return path


def _dump(
    conn: sa.Connection, scratch: Path, on_progress: OnProgress | None
) -> tuple[Manifest, dict[str, Path]]:
    tables = stored_tables(conn)
    rows_read = _RowCounter(conn, [table for table, _ in tables], on_progress)
    entries, members = [], {}
    for table, columns in tables:
        entry, file = _dump_table(conn, table, columns, scratch, rows_read)
        entries.append(entry)
        members[entry.member] = file
    manifest = Manifest(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        lore_version=version("lore"),
        created_at=datetime.now(UTC).isoformat(),
        dialect=conn.dialect.name,
        revision=revisions.current(conn),
        last_seq=int(conn.execute(queries.last_seq()).scalar_one()),
        counters=counters.read(conn, [table for table, _ in tables]),
        tables=entries,
    )
    return manifest, members


def stored_tables(conn: sa.Connection) -> list[tuple[sa.Table, list[sa.Column[Any]]]]:
    """The schema's tables that exist in this database, in dependency order, each with the columns it has
    (a store at an older revision is archived with that revision's columns)."""
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    found = []
    for table in metadata.sorted_tables:
        if table.name in present:
            names = {column["name"] for column in inspector.get_columns(table.name)}
            found.append((table, [column for column in table.columns if column.name in names]))
    return found


def _dump_table(
    conn: sa.Connection,
    table: sa.Table,
    columns: list[sa.Column[Any]],
    scratch: Path,
    rows_read: _RowCounter,
) -> tuple[TableEntry, Path]:
    kinds = [column_kind(table.name, column) for column in columns]
    encode = encoder(kinds)
    query = (
        sa.select(*columns).order_by(*table.primary_key.columns).execution_options(yield_per=_PROGRESS_EVERY)
    )
    rows = (encode(tuple(row)) for row in rows_read.counting(table.name, conn.execute(query)))
    file, count = write_member(scratch, table.name, rows)
    entry = TableEntry(
        name=table.name,
        member=f"tables/{table.name}.jsonl.gz",
        columns=[column.name for column in columns],
        kinds=kinds,
        rows=count,
        bytes=file.stat().st_size,
        sha256=file_digest(file),
    )
    return entry, file


class _RowCounter:
    """Reports rows read across all tables, against the total counted in the same snapshot."""

    def __init__(self, conn: sa.Connection, tables: list[sa.Table], on_progress: OnProgress | None) -> None:
        count = sa.select(sa.func.count())
        self.total = sum(int(conn.execute(count.select_from(table)).scalar_one()) for table in tables)
        self.done = 0
        self.on_progress = on_progress

    def counting(self, table: str, rows: Iterator[Any]) -> Iterator[Any]:
        for row in rows:
            yield row
            self.done += 1
            if self.done % _PROGRESS_EVERY == 0:
                report(self.on_progress, "read", self.done, self.total, table)
        report(self.on_progress, "read", self.done, self.total, table)
