"""A backup restored into an empty installation answers every search exactly as the original did."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lore.backends.store.conversation_records import ConversationRecords
from lore.backup import create_backup, restore_backup
from lore.backup.archive import Archive
from lore.config import Settings
from lore.models import DEFAULT_TENANT, NewMessage, SearchFilters
from lore.service import Lore
from tests.backup.conftest import fill, results


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_restore_into_an_empty_installation_gives_identical_search_results(
    backend: str, make_settings: Callable[[str], Settings], tmp_path: Path
) -> None:
    archive = tmp_path / "lore.tar"
    with Lore.open(make_settings(backend)) as source:
        fill(source)
        expected = results(source)
        documents = source.list_documents(collections=["help"], limit=50).items
        report = create_backup(source.store, archive)
    assert report.tables["documents"] == 8 and report.tables["chunks"] == 8
    target = make_settings(backend)
    restored = restore_backup(target, archive)
    assert (restored.vectors, restored.last_seq, restored.tables) == (8, report.last_seq, report.tables)
    with Lore.open(target) as copy:
        assert results(copy) == expected
        assert copy.list_documents(collections=["help"], limit=50).items == documents


def test_ids_are_never_reused_after_a_restore(
    make_settings: Callable[[str], Settings], tmp_path: Path
) -> None:
    """The newest chunk is deleted before the backup: its id is not handed out again after a restore."""
    archive = tmp_path / "lore.tar"
    with Lore.open(make_settings("sqlite")) as source:
        fill(source)
        temporary = source.add_text(title="Temporary", text="Short-lived.", source="tmp")
        newest = max(_chunk_ids(source))
        source.delete_document(temporary.id)
        report = create_backup(source.store, archive)
    assert newest not in _archived_chunk_ids(archive)
    target = make_settings("sqlite")
    restore_backup(target, archive)
    with Lore.open(target) as copy:
        copy.add_text(title="After", text="Written after the restore.", source="after")
        added = _chunk_ids(copy) - _archived_chunk_ids(archive)
        assert copy.store.changes.last_seq() == report.last_seq + 1
    assert len(added) == 1 and min(added) > newest


def _chunk_ids(lore: Lore) -> set[int]:
    return lore.store.documents.filter_chunk_ids(DEFAULT_TENANT, None, SearchFilters())


def _archived_chunk_ids(path: Path) -> set[int]:
    with Archive(path) as archive:
        entry = next(table for table in archive.manifest.tables if table.name == "chunks")
        position = entry.columns.index("id")
        return {row[position] for row in archive.rows(entry)}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_conversations_survive_a_restore_and_their_message_ids_stay_unique(
    backend: str, make_settings: Callable[[str], Settings], tmp_path: Path
) -> None:
    archive = tmp_path / "lore.tar"
    with Lore.open(make_settings(backend)) as source:
        records = source.store.conversations
        conversation = records.create(DEFAULT_TENANT, title="Refunds", metadata={"channel": "email"})
        _turn(records, conversation.id, "How long does a refund take?")
        expected = records.messages(DEFAULT_TENANT, conversation.id, 10).items
        stored = records.get(DEFAULT_TENANT, conversation.id)
        report = create_backup(source.store, archive)
    assert (report.tables["conversations"], report.tables["messages"]) == (1, 2)
    target = make_settings(backend)
    restore_backup(target, archive)
    with Lore.open(target) as copy:
        records = copy.store.conversations
        assert records.get(DEFAULT_TENANT, conversation.id) == stored
        assert records.messages(DEFAULT_TENANT, conversation.id, 10).items == expected
        _turn(records, conversation.id, "And to a bank account?")
        newest = records.messages(DEFAULT_TENANT, conversation.id, 2).items
    assert min(message.id for message in newest) > max(message.id for message in expected)


def _turn(records: ConversationRecords, conversation_id: str, question: str) -> None:
    now = datetime.now(UTC)
    records.append_turn(
        DEFAULT_TENANT,
        conversation_id,
        NewMessage("user", question, now),
        NewMessage("assistant", "Five business days [1].", now, citations=[{"marker": 1}]),
    )
