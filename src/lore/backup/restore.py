"""`restore_backup`: load an archive into an empty installation, then rebuild what is derived from it.

The whole load is one transaction: the schema is moved to the archive's revision, the rows are inserted in
dependency order, the id counters are carried over, the schema is migrated to this Lore's newest revision and
the keyword index is rebuilt from the chunks. A failure at any step leaves the target as it was. The vector
index is rebuilt afterwards from the committed store (it is derived, and lives outside the store's
transaction on some backends).
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import sqlalchemy as sa

from lore.backends.store.database import Database
from lore.backends.store.schema import metadata
from lore.backup import counters, revisions
from lore.backup.archive import Archive, TableEntry
from lore.backup.errors import BackupCorrupt, BackupUnsupported, RestoreTargetNotEmpty
from lore.backup.progress import OnProgress, RestoreReport, report
from lore.backup.values import decoder
from lore.config import Settings
from lore.registry import create_store, create_vector_index
from lore.service import Lore

_BATCH = 1000


def restore_backup(settings: Settings, path: Path, on_progress: OnProgress | None = None) -> RestoreReport:
    """Restore the archive at `path` into the (empty) installation `settings` names; a store that already
    holds data is refused with `RestoreTargetNotEmpty`, a damaged archive with `BackupCorrupt`."""
    start = time.perf_counter()
    with Archive(Path(path)) as archive:
        manifest = archive.manifest
        revisions.check_known(manifest.revision, "the archive")
        archive.verify(lambda n, table: report(on_progress, "verify", n, len(manifest.tables), table.name))
        db = create_store(settings)
        try:
            _load(db, archive, on_progress)
            last_seq = db.changes.last_seq()
            _forget_index(settings, last_seq)
        finally:
            db.close()
    report(on_progress, "index", 0, 1)
    with Lore.open(settings) as lore:
        vectors = lore.rebuild_index()
    report(on_progress, "index", 1, 1)
    return RestoreReport(
        path=Path(path),
        source_dialect=manifest.dialect,
        revision=manifest.revision,
        last_seq=last_seq,
        tables=manifest.rows(),
        vectors=vectors,
        seconds=time.perf_counter() - start,
    )


def _load(db: Database, archive: Archive, on_progress: OnProgress | None) -> None:
    manifest = archive.manifest
    loaded = _Loaded(sum(manifest.rows().values()), on_progress)
    with db.bulk_load() as conn:
        _check_target(conn)
        revisions.move_to(conn, str(manifest.revision))
        for entry in manifest.tables:
            _load_table(conn, archive, entry, loaded)
        present = set(sa.inspect(conn).get_table_names())
        counters.restore(conn, manifest.counters, [t for t in metadata.sorted_tables if t.name in present])
        revisions.move_to(conn, revisions.head())


def _check_target(conn: sa.Connection) -> None:
    here = revisions.current(conn)
    if here is not None:
        revisions.check_known(here, "the target store")
    present = set(sa.inspect(conn).get_table_names())
    filled = [
        table.name
        for table in metadata.sorted_tables
        if table.name in present and conn.execute(sa.select(1).select_from(table).limit(1)).first()
    ]
    if filled:
        raise RestoreTargetNotEmpty(
            "the target store already holds data: restore into an empty installation",
            details={"tables": filled},
        )


class _Loaded:
    """Rows inserted so far, across tables, reported as they go."""

    def __init__(self, total: int, on_progress: OnProgress | None) -> None:
        self.total, self.done, self.on_progress = total, 0, on_progress

    def add(self, rows: int, table: str) -> None:
        self.done += rows
        report(self.on_progress, "load", self.done, self.total, table)


def _load_table(conn: sa.Connection, archive: Archive, entry: TableEntry, loaded: _Loaded) -> None:
    insert = sa.insert(_target_table(conn, entry))
    decode = decoder(entry.name, entry.columns, entry.kinds)
    rows, count = (decode(values) for values in archive.rows(entry)), 0
    while batch := list(itertools.islice(rows, _BATCH)):
        conn.execute(insert, batch)
        count += len(batch)
        loaded.add(len(batch), entry.name)
    if count != entry.rows:
        raise BackupCorrupt(
            f"corrupt backup archive: {entry.name} holds {count} rows, the manifest says {entry.rows}",
            details={"table": entry.name, "rows": count, "expected": entry.rows},
        )


def _target_table(conn: sa.Connection, entry: TableEntry) -> sa.Table:
    """The schema's definition of the table (its types encode values the way the store reads them), or the
    database's own when the archive's revision has columns the newest schema no longer has."""
    table = metadata.tables.get(entry.name)
    if table is not None and set(entry.columns) <= set(table.columns.keys()):
        return table
    if not sa.inspect(conn).has_table(entry.name):
        raise BackupUnsupported(
            f"the archive holds a table {entry.name!r} that its schema revision does not have",
            details={"table": entry.name},
        )
    return sa.Table(entry.name, sa.MetaData(), autoload_with=conn)


def _forget_index(settings: Settings, last_seq: int) -> None:
    """Empty the target's vector index and mark it current, so opening Lore does not replay the restored
    change log into it: the rebuild that follows loads every vector once."""
    index = create_vector_index(settings)
    try:
        index.clear()
        index.mark_applied(last_seq)
        index.save()
    finally:
        index.close()
