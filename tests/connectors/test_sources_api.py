"""Stored sources through the API of a live server: a website source synced by a job (visible in /v1/jobs),
synced again by its schedule after the site changed, with viewers refused, other tenants kept apart, and local
kinds kept to the installation scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from lore.backends.store.schema import sources
from lore.models import utcnow
from lore.security.scopes import ROLE_SCOPES
from tests.api.conftest import LiveServer, assert_error, small_server
from tests.connectors.site import Served, Site, page
from tests.keys import bearer, mint_key
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    settings = {"crawl_allow_loopback": True, "crawl_requests_per_second": 200.0, "sync_check_seconds": 0.2}
    with small_server(tmp_path_factory.mktemp("sources"), model_cache, **settings) as live:
        yield live


@pytest.fixture(scope="module")
def editor(server: LiveServer) -> Iterator[httpx.Client]:
    key = mint_key(server.lore.store, scopes=ROLE_SCOPES["editor"])
    with httpx.Client(base_url=server.url, timeout=60, headers=bearer(key)) as http:
        yield http


def _finished(client: httpx.Client, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = client.get(f"/v1/jobs/{job_id}").json()
        return job if job["state"] in ("succeeded", "failed") else None

    return wait_for(done, f"job {job_id}")


def _documents(client: httpx.Client, collection: str) -> set[str]:
    items = client.get("/v1/documents", params={"collection": collection, "limit": 100}).json()["items"]
    return {item["source"] for item in items}


def test_a_website_source_syncs_by_job_and_by_schedule(server: LiveServer, editor: httpx.Client) -> None:
    site = Site()
    with Served(site) as url:
        site.put("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
        site.put("/", page("Home", "Welcome.", "/refunds"))
        site.put("/refunds", page("Refunds", "Five business days."))
        body = {"name": "help-site", "kind": "website", "location": url + "/", "collection": "site"}
        created = editor.post("/v1/sources", json=body)
        assert created.status_code == 201, created.text
        source = created.json()
        queued = editor.post(f"/v1/sources/{source['id']}/sync")
        assert queued.status_code == 202 and queued.headers["Location"] == f"/v1/jobs/{queued.json()['id']}"
        job = _finished(editor, queued.json()["id"])
        assert job["state"] == "succeeded", job
        assert job["result"]["added"] == 2
        assert queued.json()["id"] in {j["id"] for j in editor.get("/v1/jobs").json()["items"]}
        assert _documents(editor, "site") == {url + "/", url + "/refunds"}
        shown = editor.get(f"/v1/sources/{source['id']}").json()
        assert shown["documents"] == 2 and shown["last_run"]["added"] == 2

        site.put("/", page("Home", "Welcome back.", "/returns"))
        site.put("/returns", page("Returns", "Thirty days."))
        _schedule_now(server, source["id"])
        wait_for(lambda: _documents(editor, "site") == {url + "/", url + "/returns"}, "the scheduled sync")
        runs = [j for j in editor.get("/v1/jobs").json()["items"] if j["kind"] == "sync_source"]
        assert len(runs) == 2 and all(j["state"] == "succeeded" for j in runs)
    editor.delete(f"/v1/sources/{source['id']}").raise_for_status()
    assert_error(editor.get(f"/v1/sources/{source['id']}"), 404, "not_found")


def _schedule_now(server: LiveServer, source_id: str) -> None:
    """Give the source a schedule whose run is due: the scheduler of the server's workers claims it."""
    with server.lore.store.write() as conn:
        statement = sa.update(sources).where(sources.c.id == source_id)
        conn.execute(statement.values(interval_seconds=3600, next_run_at=utcnow() - timedelta(seconds=1)))


def test_viewers_other_tenants_and_local_kinds_are_refused(server: LiveServer, editor: httpx.Client) -> None:
    body = {"name": "docs", "kind": "website", "location": "https://help.example.com/", "collection": "web"}
    source = editor.post("/v1/sources", json=body).json()
    viewer = mint_key(server.lore.store, scopes=ROLE_SCOPES["viewer"])
    with httpx.Client(base_url=server.url, headers=bearer(viewer)) as as_viewer:
        assert_error(as_viewer.get("/v1/sources"), 403, "forbidden")
        assert_error(as_viewer.post(f"/v1/sources/{source['id']}/sync"), 403, "forbidden")
    server.lore.store.tenants.create("acme")
    with httpx.Client(
        base_url=server.url, headers=bearer(mint_key(server.lore.store, tenant="acme"))
    ) as acme:
        assert_error(acme.get(f"/v1/sources/{source['id']}"), 404, "not_found")
        assert_error(acme.post(f"/v1/sources/{source['id']}/sync"), 404, "not_found")
        assert acme.get("/v1/sources").json()["items"] == []
    folder = {**body, "name": "disk", "kind": "folder", "location": "/etc"}
    assert_error(editor.post("/v1/sources", json=folder), 403, "forbidden")
    assert_error(editor.post("/v1/sources", json=body), 409, "conflict")
    assert_error(editor.post("/v1/sources", json={**body, "name": "x", "kind": "ftp"}), 422, "invalid_input")
    assert_error(
        editor.post("/v1/sources", json={**body, "name": "y", "interval_seconds": 5}), 422, "invalid_request"
    )
