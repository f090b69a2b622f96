"""The admin API over a real server: backups written while serving, listed, downloaded and restored elsewhere."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.api import create_app
from lore.backup import restore_backup
from lore.config import Settings
from lore.service import Lore
from tests.api.conftest import LiveServer, assert_error
from tests.backup.conftest import Results, fill, results
from tests.keys import bearer, mint_key
from tests.waiting import wait_for

NAME = re.compile(r"^lore-\d{8}T\d{12}Z-[0-9a-f]{8}\.tar$")


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path
) -> Iterator[tuple[LiveServer, Results]]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("served"),
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
    )
    with LiveServer(create_app(settings)) as live:
        fill(live.lore)
        yield live, results(live.lore)


@pytest.fixture(scope="module")
def client(served: tuple[LiveServer, Results]) -> Iterator[httpx.Client]:
    headers = bearer(mint_key(served[0].lore.store))
    with httpx.Client(base_url=served[0].url, timeout=120, headers=headers) as http:
        yield http


def test_a_backup_made_through_the_api_restores_elsewhere(
    served: tuple[LiveServer, Results],
    client: httpx.Client,
    make_settings: Callable[[str], Settings],
    tmp_path: Path,
) -> None:
    created = client.post("/v1/admin/backups")
    assert created.status_code == 201, created.text
    body = created.json()
    assert NAME.match(body["name"]) and body["tables"]["documents"] == 8 and body["bytes"] > 0
    listed = client.get("/v1/admin/backups").json()
    assert body["name"] in [item["name"] for item in listed["items"]]
    download = client.get(f"/v1/admin/backups/{body['name']}")
    assert download.status_code == 200 and download.headers["content-type"] == "application/x-tar"
    assert len(download.content) == body["bytes"]
    archive = tmp_path / "downloaded.tar"
    archive.write_bytes(download.content)
    target = make_settings("sqlite")
    restore_backup(target, archive)
    with Lore.open(target) as copy:
        assert results(copy) == served[1]


def finished(client: httpx.Client, job_id: str) -> dict[str, Any] | None:
    job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
    return job if job["state"] in ("succeeded", "failed") else None


def test_a_backup_job_writes_an_archive(client: httpx.Client) -> None:
    queued = client.post("/v1/admin/backups", params={"background": "true"})
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert job["kind"] == "backup" and queued.headers["location"] == f"/v1/jobs/{job['id']}"
    job_id = job["id"]
    job = wait_for(lambda: finished(client, job_id), "the backup job to finish", poll=0.2)
    assert job["state"] == "succeeded", job
    name = job["result"]["name"]
    assert NAME.match(name) and job["result"]["tables"]["chunks"] == 8
    assert client.get(f"/v1/admin/backups/{name}").status_code == 200


def test_the_list_is_paged_newest_first(client: httpx.Client) -> None:
    client.post("/v1/admin/backups").raise_for_status()
    client.post("/v1/admin/backups").raise_for_status()
    names, cursor = [], None
    while True:
        page = client.get("/v1/admin/backups", params={"limit": 1, **({"cursor": cursor} if cursor else {})})
        body = page.json()
        names += [item["name"] for item in body["items"]]
        if (cursor := body["next_cursor"]) is None:
            break
    assert len(names) >= 2 and names == sorted(names, reverse=True)


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("lore-20990101T000000000000Z-00000000.tar", 404, "not_found"),
        ("..%2F..%2Fetc%2Fpasswd.tar", 404, "not_found"),
        (".hidden.tar", 422, "invalid_input"),
        ("has space.tar", 422, "invalid_input"),
        ("lore.db", 422, "invalid_input"),
    ],
)
def test_downloads_name_archives_in_the_folder_only(
    client: httpx.Client, name: str, status: int, code: str
) -> None:
    assert_error(client.get(f"/v1/admin/backups/{name}"), status, code)


def test_a_bad_cursor_is_invalid_input(client: httpx.Client) -> None:
    assert_error(client.get("/v1/admin/backups", params={"cursor": "../x"}), 422, "invalid_input")
