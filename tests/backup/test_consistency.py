"""A backup taken while a writer keeps ingesting is one consistent moment of the store.

The backup pauses after each table it reads, so the writer commits documents in between: only a single
snapshot read keeps every chunk's document, vectors and change records in the archive together.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lore.backup import BackupProgress, create_backup, restore_backup
from lore.backup.archive import Archive
from lore.config import Settings
from lore.service import Lore
from tests.waiting import wait_for


class Writer(threading.Thread):
    """Adds a new document and rewrites a fixed one, in turn, until stopped."""

    def __init__(self, lore: Lore) -> None:
        super().__init__(daemon=True)
        self.lore = lore
        self.written = 0
        self.errors: list[BaseException] = []
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                n = self.written
                self.lore.add_text(
                    title=f"Note {n}", text=f"# Note {n}\n\nNote number {n} about topic {n % 7}."
                )
                self.lore.add_text(
                    title="Rolling", text=f"Revision {n} of the rolling page.", source="rolling"
                )
                self.written += 1
        except BaseException as error:
            self.errors.append(error)


def tables(path: Path) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Every archived row as a dict, by table, and the manifest's change position."""
    with Archive(path) as archive:
        rows = {
            entry.name: [dict(zip(entry.columns, values, strict=True)) for values in archive.rows(entry)]
            for entry in archive.manifest.tables
        }
        return rows, archive.manifest.last_seq


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_backup_while_writing_is_consistent(
    backend: str, make_settings: Callable[[str], Settings], tmp_path: Path
) -> None:
    archive = tmp_path / "busy.tar"
    with Lore.open(make_settings(backend)) as lore:
        writer = Writer(lore)
        writer.start()
        wait_for(lambda: writer.written >= 3 or not writer.is_alive(), "the writer's first documents")
        started = writer.written

        def pause_between_tables(step: BackupProgress) -> None:
            written = writer.written
            wait_for(lambda: writer.written > written or not writer.is_alive(), "a write between two tables")

        create_backup(lore.store, archive, pause_between_tables)
        during = writer.written - started
        writer.stop.set()
        writer.join(timeout=60)
        total_documents = len(lore.list_documents(limit=200).items)
    assert writer.errors == []
    assert during >= 2  # the writer committed while the tables were being read
    rows, last_seq = tables(archive)
    documents = {row["id"]: row for row in rows["documents"]}
    chunks = rows["chunks"]
    assert 0 < len(documents) < total_documents
    assert all(chunk["document_id"] in documents for chunk in chunks)
    assert sum(document["chunk_count"] for document in documents.values()) == len(chunks)
    vectors = {(row["model_id"], row["content_hash"]) for row in rows["embeddings"]}
    assert all((chunk["model_id"], chunk["content_hash"]) in vectors for chunk in chunks)
    changes = rows["changes"]
    assert max(change["seq"] for change in changes) == last_seq
    net = Counter(c["chunk_id"] for c in changes if c["op"] == "add")
    net.subtract(c["chunk_id"] for c in changes if c["op"] == "remove")
    assert {chunk_id for chunk_id, n in net.items() if n} == {chunk["id"] for chunk in chunks}
    target = make_settings(backend)
    report = restore_backup(target, archive)
    assert report.vectors == len(chunks) and report.last_seq == last_seq
