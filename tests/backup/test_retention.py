"""The backup folder is bounded: retention keeps the newest archives, a quota refuses backups past its bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lore.backends.store.database import Database
from lore.backup import folder
from lore.config import Settings
from lore.errors import QuotaExceeded
from lore.registry import create_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Database]:
    db = create_store(Settings(_env_file=None, data_dir=tmp_path))
    db.migrate()
    yield db
    db.close()


def settings_of(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)


def names(settings: Settings) -> list[str]:
    return [item.name for item in folder.listing(settings)]


def test_retention_keeps_the_newest_archives(store: Database, tmp_path: Path) -> None:
    settings = settings_of(tmp_path, backup_keep=3)
    written = [folder.write(store, settings).path.name for _ in range(5)]

    assert names(settings) == sorted(written[-3:], reverse=True)
    stray = folder.backup_dir(settings) / "notes.txt"  # not an archive: retention leaves it alone
    stray.write_text("keep me")
    folder.write(store, settings)
    assert len(names(settings)) == 3 and stray.exists()


def test_keep_zero_keeps_every_archive(store: Database, tmp_path: Path) -> None:
    settings = settings_of(tmp_path, backup_keep=0)
    for _ in range(4):
        folder.write(store, settings)
    assert len(names(settings)) == 4


def test_the_quota_refuses_a_backup_until_archives_are_deleted(store: Database, tmp_path: Path) -> None:
    first = folder.write(store, settings_of(tmp_path))
    settings = settings_of(tmp_path, backup_max_bytes=first.bytes + 1)
    second = folder.write(store, settings)  # under the quota before it

    with pytest.raises(QuotaExceeded) as refused:
        folder.write(store, settings)
    assert refused.value.details == {
        "name": "backup_bytes",
        "limit": first.bytes + 1,
        "used": first.bytes + second.bytes,
    }
    assert len(names(settings)) == 2  # nothing was written

    folder.delete(settings, first.path.name)
    folder.delete(settings, second.path.name)
    assert folder.write(store, settings).bytes > 0
