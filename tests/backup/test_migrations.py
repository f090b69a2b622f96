"""An archive written at an older schema revision restores through the migrations, whatever revision the empty
target is at: not migrated yet (upgraded from nothing) or already at the newest (moved down first, then up)."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lore.backup import create_backup, restore_backup
from lore.backup.archive import MANIFEST
from lore.config import Settings
from lore.service import Lore
from tests.backup.conftest import Results, fill, rankings, results
from tests.backup.test_archive_errors import members, write_tar

FIRST_TABLES = {"tenants", "collections", "documents", "document_tags", "chunks", "embeddings", "changes"}
LATER_COLUMNS = {  # columns later revisions added to the tables revision 0001 made
    "collections": {"model_id", "pending_model_id", "pending_since", "model_seq"},
    "tenants": {"name", "disabled_at", "settings"},
    "documents": {"owner", "restricted"},
}


def as_first_revision(archive: Path, out: Path) -> Path:
    """The archive as a Lore at revision 0001 would have written it: only that revision's tables and columns."""
    content = members(archive)
    manifest = json.loads(content[MANIFEST])
    manifest["revision"] = "0001"
    for table in manifest["tables"]:
        if table["name"] not in FIRST_TABLES:
            content.pop(table["member"])
    manifest["tables"] = [table for table in manifest["tables"] if table["name"] in FIRST_TABLES]
    for entry in manifest["tables"]:
        if entry["name"] in LATER_COLUMNS:
            _drop_columns(content, entry, LATER_COLUMNS[entry["name"]])
    content[MANIFEST] = json.dumps(manifest).encode()
    return write_tar(out, {MANIFEST: content[MANIFEST], **content})


def _drop_columns(content: dict[str, bytes], entry: dict[str, Any], later: set[str]) -> None:
    keep = [i for i, name in enumerate(entry["columns"]) if name not in later]
    rows = [json.loads(line) for line in gzip.decompress(content[entry["member"]]).splitlines()]
    data = gzip.compress("".join(json.dumps([row[i] for i in keep]) + "\n" for row in rows).encode())
    content[entry["member"]] = data
    entry.update(
        columns=[entry["columns"][i] for i in keep],
        kinds=[entry["kinds"][i] for i in keep],
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


@pytest.fixture(scope="module")
def old_archive(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> tuple[Path, Results]:
    root = tmp_path_factory.mktemp("old")
    settings = Settings(_env_file=None, data_dir=root / "data", model_cache_dir=model_cache, parse_workers=1)
    with Lore.open(settings) as lore:
        fill(lore)
        expected = results(lore)
        archive = create_backup(lore.store, root / "new.tar").path
    return as_first_revision(archive, root / "old.tar"), expected


@pytest.mark.parametrize(
    ("backend", "opened_first"),
    [("sqlite", False), ("sqlite", True), ("postgres-bare", False), ("postgres", True)],
    ids=["sqlite-unmigrated", "sqlite-newest", "postgres-unmigrated", "postgres-newest"],
)
def test_an_older_archive_restores_through_the_migrations(
    backend: str,
    opened_first: bool,
    old_archive: tuple[Path, Results],
    make_settings: Callable[[str], Settings],
) -> None:
    archive, expected = old_archive
    target = make_settings(backend)
    if opened_first:
        Lore.open(target).close()  # an empty installation at the newest revision
    report = restore_backup(target, archive)
    assert report.revision == "0001" and report.vectors == 8
    with Lore.open(target) as lore:
        found = results(lore)
        if backend == "sqlite":
            assert found == expected
        else:  # the archive came from SQLite
            assert rankings(found) == rankings(expected)
        assert {info.name for info in lore.store.documents.list_collections("default")} == {"default", "help"}
