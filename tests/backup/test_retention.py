"""The backup folder is bounded: retention keeps the newest archives, a quota refuses backups past its bytes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from lore.api import create_app
from lore.backends.store.database import Database
from lore.backup import folder
from lore.config import Settings
from lore.errors import QuotaExceeded
from lore.registry import create_store
from tests.api.conftest import LiveServer, assert_error
from tests.keys import bearer, mint_key


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


@contextmanager
def served(settings: Settings) -> Iterator[httpx.Client]:
    with (
        LiveServer(create_app(settings)) as live,
        httpx.Client(base_url=live.url, timeout=120, headers=bearer(mint_key(live.lore.store))) as client,
    ):
        yield client


def test_the_admin_api_keeps_the_newest_archives(tmp_path: Path, model_cache: Path) -> None:
    settings = settings_of(tmp_path, model_cache_dir=model_cache, embed_threads=1, backup_keep=2)
    with served(settings) as client:
        made = [client.post("/v1/admin/backups").json()["name"] for _ in range(3)]
        listed = [item["name"] for item in client.get("/v1/admin/backups").json()["items"]]
        assert listed == sorted(made[1:], reverse=True)


def test_the_admin_api_refuses_backups_past_the_quota(tmp_path: Path, model_cache: Path) -> None:
    settings = settings_of(tmp_path, model_cache_dir=model_cache, embed_threads=1, backup_max_bytes=1)
    with served(settings) as client:
        first = client.post("/v1/admin/backups")  # the folder was empty: under any quota
        assert first.status_code == 201, first.text
        for params in ({}, {"background": "true"}):
            refused = client.post("/v1/admin/backups", params=params)
            error = assert_error(refused, 429, "quota_exceeded")
            assert error["details"] == {"name": "backup_bytes", "limit": 1, "used": first.json()["bytes"]}
            assert int(refused.headers["retry-after"]) > 0
        assert client.get("/v1/jobs", params={"kind": "backup"}).json()["items"] == []  # none was queued
        assert client.delete(f"/v1/admin/backups/{first.json()['name']}").status_code == 204
        assert_error(client.delete(f"/v1/admin/backups/{first.json()['name']}"), 404, "not_found")
        assert client.post("/v1/admin/backups").status_code == 201
