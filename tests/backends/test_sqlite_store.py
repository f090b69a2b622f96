"""What only the SQLite store promises: WAL and pragmas, migrations, FTS5 details, concurrency across threads
and processes. The behaviour every store shares is in tests/contracts/test_database_contract.py."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lore.backends.store.schema import metadata
from lore.backends.store.sqlite import SqliteDatabase
from tests.backends.store_helpers import TENANT, alembic_config, scalar, write


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "lore.db"


@pytest.fixture
def db(path: Path) -> Iterator[SqliteDatabase]:
    instance = SqliteDatabase.from_path(path)
    instance.migrate()
    yield instance
    instance.close()


# -- set-up --------------------------------------------------------------------------------------------------


def test_connections_use_wal_and_enforce_foreign_keys(db: SqliteDatabase) -> None:
    assert scalar(db, "PRAGMA journal_mode") == "wal"
    assert scalar(db, "PRAGMA synchronous") == 1  # NORMAL
    assert scalar(db, "PRAGMA foreign_keys") == 1
    assert scalar(db, "PRAGMA busy_timeout") == 10_000


def test_the_data_directory_is_created(path: Path) -> None:
    db = SqliteDatabase(f"sqlite:///{path}")
    db.migrate()
    db.close()
    assert path.is_file()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "postgresql://localhost/lore"])
def test_only_sqlite_files_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="sqlite"):
        SqliteDatabase(url)


# -- migrations ----------------------------------------------------------------------------------------------


def test_migrations_are_idempotent_and_reach_head(db: SqliteDatabase) -> None:
    write(db, "a.md", "kept across migrate")
    db.migrate()
    db.migrate()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
    assert scalar(db, "SELECT count(*) FROM documents") == 1


def test_the_security_migration_keeps_the_chunks_of_a_store_that_holds_some(db: SqliteDatabase) -> None:
    """A migration that copies a table SQLite cannot alter in place drops the old one, and ON DELETE CASCADE
    takes the chunks with it: 0006 adds columns to `documents` in place, down and up."""
    write(db, "a.md", "kept across every migration")
    chunks = scalar(db, "SELECT count(*) FROM chunks")
    config = alembic_config()
    for step in (command.downgrade, command.upgrade):
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            step(config, "0005" if step is command.downgrade else "head")
        assert scalar(db, "SELECT count(*) FROM chunks") == chunks > 0


def test_migrated_schema_matches_the_core_tables(db: SqliteDatabase) -> None:
    def include_name(name: str | None, type_: str, _parents: object) -> bool:
        return not (type_ == "table" and name is not None and name.startswith("chunks_fts"))

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_downgrade_to_base_and_upgrade_again(db: SqliteDatabase) -> None:
    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    with db.engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == ["alembic_version"]
    db.migrate()
    assert write(db, "a.md", "works again").chunk_count == 1
    assert scalar(db, "SELECT count(*) FROM sqlite_stat1 WHERE idx = 'ix_chunks_document'") == 1


def test_seeded_statistics_name_real_indexes(db: SqliteDatabase) -> None:
    with db.engine.connect() as conn:
        seeded = set(
            conn.exec_driver_sql("SELECT tbl, idx FROM sqlite_stat1 WHERE tbl NOT LIKE 'chunks_fts%'")
        )
        indexes = set(conn.exec_driver_sql("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'"))
    assert ("chunks", "ix_chunks_document") in seeded
    assert seeded <= indexes


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("tenant_id = 't' AND id IN (1, 2, 3)", "INTEGER PRIMARY KEY"),
        ("tenant_id = 't' AND document_id IN ('a', 'b')", "ix_chunks_document"),
        ("tenant_id = 't' AND collection IN ('c')", "ix_chunks_collection"),
    ],
)
def test_a_new_database_already_plans_for_size(db: SqliteDatabase, where: str, expected: str) -> None:
    with db.engine.connect() as conn:
        plan = " ".join(
            row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN SELECT id FROM chunks WHERE {where}")
        )
    assert expected in plan


# -- the FTS5 keyword index ----------------------------------------------------------------------------------


def test_fts_rows_follow_the_chunks(db: SqliteDatabase) -> None:
    document = write(db, "a.md", "one", "two", "three")
    write(db, "b.md", "four")
    assert scalar(db, "SELECT count(*) FROM chunks_fts") == 4
    write(db, "a.md", "one again")
    assert scalar(db, "SELECT count(*) FROM chunks_fts") == 2
    db.documents.delete_document(TENANT, document.id)
    assert scalar(db, "SELECT count(*) FROM chunks_fts") == 1
    assert scalar(db, "SELECT count(*) FROM chunks_fts JOIN chunks ON chunks.id = chunks_fts.rowid") == 1


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("the runner runs", "running"),
        ("Café crème", "cafe creme"),
        ("connected devices", "connection device"),
    ],
)
def test_english_stems_and_diacritics_match(db: SqliteDatabase, text: str, query: str) -> None:
    write(db, "a.md", text)
    assert len(db.keywords.keyword_search(TENANT, query, 10)) == 1


# -- concurrency ---------------------------------------------------------------------------------------------


def run_threads(*targets: Callable[[], object]) -> list[BaseException]:
    """Run targets in threads; returns what they raised."""
    errors: list[BaseException] = []

    def guarded(target: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as error:
                errors.append(error)

        return run

    threads = [threading.Thread(target=guarded(target)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_readers_see_whole_versions_while_a_writer_replaces_them(db: SqliteDatabase) -> None:
    versions = [[f"alpha {i}" for i in range(3)], [f"beta {i}" for i in range(5)]]
    document = write(db, "doc.md", *versions[0])
    writing = threading.Event()
    writing.set()
    seen: Counter[int] = Counter()

    def writer() -> None:
        for i in range(1, 61):
            write(db, "doc.md", *versions[i % 2])
        writing.clear()

    def reader() -> None:
        while writing.is_set():
            hits = db.keywords.keyword_search(TENANT, "alpha beta", 10)
            stored = db.documents.get_document(TENANT, document.id)
            assert stored is not None and stored.chunk_count in (3, 5)
            assert db.documents.list_collections(TENANT)[0].chunk_count in (3, 5)
            assert len(hits) in (3, 5), hits
            seen[len(hits)] += 1

    assert run_threads(writer, reader, reader, reader) == []
    assert seen[3] > 0 and seen[5] > 0


def test_two_stores_on_one_file_serialise_their_writes(db: SqliteDatabase, path: Path) -> None:
    other = SqliteDatabase.from_path(path)
    try:
        errors = run_threads(
            lambda: [write(db, f"first-{i}.md", f"first {i}") for i in range(40)],
            lambda: [write(other, f"second-{i}.md", f"second {i}") for i in range(40)],
        )
    finally:
        other.close()
    assert errors == []
    assert scalar(db, "SELECT count(*) FROM documents") == 80
    assert [c.seq for c in db.changes.changes_since(0)] == list(range(1, 81))


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np

    from lore.backends.store.sqlite import SqliteDatabase
    from lore.models import ChunkDraft, DocumentDraft

    db = SqliteDatabase.from_path(Path(sys.argv[1]))
    db.migrate()
    for i in range(int(sys.argv[2])):
        chunk = ChunkDraft(0, f"child {i}", (), 2, f"child {i}")
        draft = DocumentDraft("t", "c", "Title", f"child-{i}.md", f"child {i}", str(i))
        db.documents.write_document(draft, [chunk], {chunk.content_hash: np.ones(4, np.float32)}, "m")
    db.close()
    """
)


def test_a_second_process_writes_alongside(db: SqliteDatabase, path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), "50"], stderr=subprocess.PIPE, text=True
    )
    for i in range(50):
        write(db, f"parent-{i}.md", f"parent {i}")
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 0, stderr
    assert scalar(db, "SELECT count(*) FROM documents") == 100
    assert scalar(db, "SELECT count(*) FROM chunks_fts") == 100
    assert [c.seq for c in db.changes.changes_since(0)] == list(range(1, 101))
    assert len(db.keywords.keyword_search(TENANT, "child", 100)) == 50
