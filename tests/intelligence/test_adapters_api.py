"""The adapters API on a live server: training as a job, listing, activation (refused without a gain),
searches that change at once, rollback, and scoping by scope, tenant and collection."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.api import create_app
from lore.config import Settings
from lore.security.scopes import ROLE_SCOPES, Scope
from tests.api.conftest import LiveServer, assert_error
from tests.intelligence import jargon
from tests.keys import bearer, mint_key
from tests.waiting import wait_for

PROBE, PROBE_CODE = "trouble using zorblax since yesterday", "zorblax"


@dataclass
class Api:
    server: LiveServer
    documents: dict[str, str]
    admin: httpx.Client


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Api]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("adapters-api"),
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        worker_threads=1,
    )
    with LiveServer(create_app(settings)) as live:
        documents = jargon.load(live.lore)
        live.lore.store.tenants.create("acme")
        headers = bearer(mint_key(live.lore.store, scopes=ROLE_SCOPES["admin"]))
        with httpx.Client(base_url=live.url, timeout=60, headers=headers) as admin:
            yield Api(live, documents, admin)


def client(api: Api, **key: Any) -> httpx.Client:
    return httpx.Client(
        base_url=api.server.url, timeout=60, headers=bearer(mint_key(api.server.lore.store, **key))
    )


def trained(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    accepted = api.admin.post("/v1/adapters/help/train", json=body)
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["location"] == f"/v1/jobs/{accepted.json()['id']}"

    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = api.admin.get(accepted.headers["location"]).json()
        return job if job["state"] in ("succeeded", "failed") else None

    job = wait_for(done, "the training job to finish", poll=0.1)
    assert job["state"] == "succeeded", job
    return dict(job["result"]["model"])


def top(api: Api) -> str:
    body = {"query": PROBE, "k": 1, "mode": "vector", "collection": "help"}
    return str(api.admin.post("/v1/search", json=body).json()["hits"][0]["document_id"])


def test_train_activate_search_and_roll_back(api: Api) -> None:
    pairs = [{"query": query, "document_id": api.documents[code]} for query, code in jargon.queries()]
    before = top(api)
    assert before != api.documents[PROBE_CODE]
    assert_error(api.admin.get("/v1/adapters/help"), 404, "not_found")
    model = trained(api, {"pairs": pairs})
    assert (model["kind"], model["name"], model["status"]) == ("adapter", "help", "candidate")
    assert model["metrics"]["vector"]["gain"] > 0
    listed = api.admin.get("/v1/adapters", params={"collection": "help"}).json()
    assert [item["id"] for item in listed["items"]] == [model["id"]] and listed["next_cursor"] is None
    assert top(api) == before  # a candidate serves nothing
    active = api.admin.post("/v1/adapters/help/activate", json={})
    assert active.status_code == 200, active.text
    assert active.json()["status"] == "active"
    assert api.admin.get("/v1/adapters/help").json()["id"] == model["id"]
    assert top(api) == api.documents[PROBE_CODE]
    rolled = api.admin.post("/v1/adapters/help/rollback")
    assert rolled.status_code == 200 and rolled.json() == {"active": None}
    assert top(api) == before
    assert_error(api.admin.post("/v1/adapters/help/rollback"), 409, "conflict")


def test_activation_without_a_gain_is_refused_unless_forced(api: Api) -> None:
    current = api.admin.post("/v1/search", json={"query": "x", "k": 1, "collection": "help"})
    assert current.status_code == 200
    pairs = []
    for query, _ in jargon.queries():
        body = {"query": query, "k": 1, "mode": "vector", "collection": "help"}
        pairs.append(
            {
                "query": query,
                "document_id": api.admin.post("/v1/search", json=body).json()["hits"][0]["document_id"],
            }
        )
    model = trained(api, {"pairs": pairs, "activate": True})
    assert model["status"] == "candidate"
    refused = assert_error(
        api.admin.post("/v1/adapters/help/activate", json={"version": model["version"]}), 409, "conflict"
    )
    assert refused["details"]["version"] == model["version"]
    forced = api.admin.post("/v1/adapters/help/activate", json={"version": model["version"], "force": True})
    assert forced.json()["status"] == "active"
    assert api.admin.post("/v1/adapters/help/rollback").status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/adapters/help/train", {}),  # neither pairs nor events
        ("/v1/adapters/help/train", {"pairs": [{"query": "q", "document_id": "d", "text": "t"}]}),
        ("/v1/adapters/help/activate", {"version": 0}),
        ("/v1/adapters/help/activate", {"unknown": True}),
    ],
)
def test_bad_bodies_are_refused(api: Api, path: str, body: dict[str, Any]) -> None:
    assert_error(api.admin.post(path, json=body), 422, "invalid_request")


def test_errors_and_scoping(api: Api) -> None:
    assert_error(api.admin.post("/v1/adapters/help/activate", json={"version": 99}), 404, "not_found")
    assert_error(api.admin.get("/v1/adapters", params={"cursor": "x"}), 422, "invalid_input")
    assert_error(api.admin.get("/v1/adapters/bad%00name"), 422, "invalid_input")
    assert_error(api.admin.post("/v1/adapters/bad%20name/rollback"), 422, "invalid_input")
    assert_error(
        api.admin.post("/v1/adapters/no%20such/train", json={"from_events": True}), 422, "invalid_input"
    )
    with client(api, scopes=ROLE_SCOPES["viewer"]) as viewer:
        assert_error(viewer.get("/v1/adapters"), 403, "forbidden")
    with client(api, tenant="acme", scopes=frozenset({Scope.ADMIN})) as acme:
        assert acme.get("/v1/adapters").json() == {"items": [], "next_cursor": None}
        assert_error(acme.post("/v1/adapters/help/rollback"), 409, "conflict")
    with client(api, scopes=ROLE_SCOPES["admin"], collections=frozenset({"faq"})) as faq_only:
        assert_error(faq_only.post("/v1/adapters/help/activate", json={}), 403, "forbidden")
        assert_error(faq_only.get("/v1/adapters", params={"collection": "help"}), 403, "forbidden")
        api.server.lore.store.trained_models.save("default", "adapter", "billing", b"", data_hash="h")
        assert api.admin.get("/v1/adapters").json()["items"]  # billing's, which faq_only never sees
        assert faq_only.get("/v1/adapters").json()["items"] == []
