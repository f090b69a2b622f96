"""An archive is backend-independent: SQLite to PostgreSQL is the way from embedded to scaled out, and back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lore.backup import create_backup, restore_backup
from lore.config import Settings
from lore.models import DEFAULT_TENANT, SearchFilters
from lore.service import Lore
from tests.backup.conftest import fill, rankings, results


@pytest.mark.parametrize(("source", "target"), [("sqlite", "postgres"), ("postgres", "sqlite")])
def test_an_archive_restores_on_the_other_backend(
    source: str, target: str, make_settings: Callable[[str], Settings], tmp_path: Path
) -> None:
    archive = tmp_path / "lore.tar"
    with Lore.open(make_settings(source)) as lore:
        fill(lore)
        expected = results(lore)
        documents = lore.list_documents(limit=50).items
        highest = max(lore.store.documents.filter_chunk_ids(DEFAULT_TENANT, None, SearchFilters()))
        report = create_backup(lore.store, archive)
    assert report.tables["chunks"] == 8
    settings = make_settings(target)
    restored = restore_backup(settings, archive)
    assert restored.source_dialect == ("sqlite" if source == "sqlite" else "postgresql")
    with Lore.open(settings) as lore:
        assert rankings(results(lore)) == rankings(expected)
        assert lore.list_documents(limit=50).items == documents
        added = lore.add_text(title="Next", text="Written on the new backend.", source="next")
        new_chunks = lore.store.documents.filter_chunk_ids(
            DEFAULT_TENANT, None, SearchFilters(document_ids=(added.id,))
        )
    assert min(new_chunks) > highest
