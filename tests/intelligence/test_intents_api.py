"""The intents API on a live server: training from an uploaded CSV as a job, the version routes, intent
routes, `POST /v1/classify` and its errors, and another tenant seeing none of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.api import create_app
from lore.security.scopes import Scope
from lore.wire.trained_models import TrainedModelOut
from tests.api.conftest import LiveServer, assert_error
from tests.intelligence.intent_data import make_settings
from tests.keys import bearer, mint_key
from tests.waiting import wait_for


def csv_file(content: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("intents.csv", content, "text/csv")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path_factory.mktemp("intents-api"), model_cache, worker_threads=1)
    with LiveServer(create_app(settings)) as live:
        yield live


def client_for(
    server: LiveServer, tenant: str = "default", scopes: frozenset[Scope] | None = None
) -> httpx.Client:
    key = mint_key(server.lore.store, tenant, scopes) if scopes else mint_key(server.lore.store, tenant)
    return httpx.Client(base_url=server.url, timeout=60, headers=bearer(key))


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with client_for(server) as http:
        yield http


def finished(client: httpx.Client, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        return job if job["state"] in ("succeeded", "failed") else None

    return wait_for(done, f"job {job_id} to finish", poll=0.1)


@pytest.fixture(scope="module")
def trained(client: httpx.Client, intent_csv: bytes) -> dict[str, Any]:
    """v1 trained by a job and activated; v2 trained and left a candidate."""
    assert_error(client.post("/v1/classify", json={"text": "refund me"}), 409, "no_active_model")
    queued = client.post("/v1/intents/train", params={"activate": "true"}, files=csv_file(intent_csv))
    assert queued.status_code == 202, queued.text
    assert queued.headers["Location"] == f"/v1/jobs/{queued.json()['id']}"
    job = finished(client, queued.json()["id"])
    assert job["state"] == "succeeded", job
    assert job["progress"]["done"] == job["progress"]["total"] > 0
    second = finished(client, client.post("/v1/intents/train", files=csv_file(intent_csv)).json()["id"])
    return {"v1": job["result"], "v2": second["result"]}


def test_the_train_job_saves_an_active_version(client: httpx.Client, trained: dict[str, Any]) -> None:
    v1 = TrainedModelOut.model_validate(trained["v1"])
    assert (v1.kind, v1.name, v1.version, v1.status) == ("intents", "default", 1, "active")
    listed = client.get("/v1/intents/models").json()["items"]
    assert [m["version"] for m in listed] == [2, 1] and listed[0]["status"] == "candidate"
    shown = client.get(f"/v1/intents/models/{v1.id}").json()
    assert shown["metrics"]["accuracy"] >= 0.9 and shown["labels"] == v1.labels


def test_classify_answers_with_the_active_version(client: httpx.Client, trained: dict[str, Any]) -> None:
    body = client.post("/v1/classify", json={"text": "please refund the shoes"}).json()
    assert body["intent"] == "refund_request" and body["model_version"] == 1
    assert len(body["alternatives"]) == 3 and body["alternatives"][0]["intent"] == "refund_request"
    assert 0 < body["confidence"] <= 1


def test_activation_shadow_share_and_rollback(client: httpx.Client, trained: dict[str, Any]) -> None:
    v1, v2 = trained["v1"]["id"], trained["v2"]["id"]
    assert client.post(f"/v1/intents/models/{v2}/shadow").json()["status"] == "shadow"
    client.post("/v1/classify", json={"text": "I lost my card at the station"})
    compared = client.get("/v1/intents/compare").json()
    assert compared["shadowed"] >= 1 and compared["agreement"] == 1.0
    shared = client.post(f"/v1/intents/models/{v2}/share", json={"traffic_share": 0.3}).json()
    assert (shared["status"], shared["traffic_share"]) == ("candidate", 0.3)
    assert_error(
        client.post(f"/v1/intents/models/{v2}/share", json={"traffic_share": 1.5}), 422, "invalid_request"
    )
    assert client.post(f"/v1/intents/models/{v2}/activate").json()["status"] == "active"
    assert client.post("/v1/classify", json={"text": "refund me"}).json()["model_version"] == 2
    assert client.post("/v1/intents/rollback", json={}).json()["id"] == v1
    assert_error(client.post(f"/v1/intents/models/{v1}/shadow"), 409, "conflict")


def test_routes_are_set_listed_and_deleted(client: httpx.Client) -> None:
    body = {"collection": "billing", "tags": ["refunds"], "escalate": True}
    route = client.put("/v1/intents/routes/refund_request", json=body).json()
    assert (route["collection"], route["tags"], route["escalate"], route["reply"]) == (
        "billing",
        ["refunds"],
        True,
        None,
    )
    assert [r["intent"] for r in client.get("/v1/intents/routes").json()["items"]] == ["refund_request"]
    assert client.delete("/v1/intents/routes/refund_request").status_code == 204
    assert_error(client.delete("/v1/intents/routes/refund_request"), 404, "not_found")
    assert_error(client.put("/v1/intents/routes/x", json={"collection": "no spaces"}), 422, "invalid_input")


def test_bad_requests_get_the_error_shape(client: httpx.Client, trained: dict[str, Any]) -> None:
    assert_error(client.post("/v1/classify", json={"text": ""}), 422, "invalid_request")
    assert_error(client.post("/v1/classify", json={"text": "x", "model": "nope"}), 409, "no_active_model")
    assert_error(client.get("/v1/intents/models/mdl_missing"), 404, "not_found")
    bad = client.post("/v1/intents/train", files=csv_file(b"text,label\nonly,one\n"))
    assert_error(bad, 422, "invalid_input")


def test_another_tenant_cannot_see_or_use_the_model(server: LiveServer, trained: dict[str, Any]) -> None:
    server.lore.store.tenants.create("tenant-b")
    with client_for(server, "tenant-b") as other:
        assert_error(other.post("/v1/classify", json={"text": "refund me"}), 409, "no_active_model")
        assert_error(other.get(f"/v1/intents/models/{trained['v1']['id']}"), 404, "not_found")
        assert_error(other.post(f"/v1/intents/models/{trained['v1']['id']}/activate"), 404, "not_found")
        assert other.get("/v1/intents/models").json()["items"] == []


def test_classify_needs_the_classify_scope_and_admin_routes_need_admin(server: LiveServer) -> None:
    with client_for(server, scopes=frozenset({Scope.SEARCH})) as searcher:
        assert_error(searcher.post("/v1/classify", json={"text": "refund me"}), 403, "forbidden")
    with client_for(server, scopes=frozenset({Scope.CLASSIFY})) as classifier:
        assert_error(classifier.get("/v1/intents/models"), 403, "forbidden")


def test_a_conversation_answer_says_when_to_escalate(client: httpx.Client, trained: dict[str, Any]) -> None:
    client.put("/v1/intents/routes/talk_to_human", json={"escalate": True})
    conversation = client.post("/v1/conversations").json()["id"]
    asked = client.post(
        f"/v1/conversations/{conversation}/messages", json={"content": "I need a human agent for my order"}
    )
    assert asked.status_code == 201, asked.text
    metadata = asked.json()["metadata"]
    assert metadata["escalate"] is True and metadata["intent"]["intent"] == "talk_to_human"
    other = client.post(
        f"/v1/conversations/{conversation}/messages", json={"content": "please refund the shoes"}
    )
    assert other.json()["metadata"]["escalate"] is False
