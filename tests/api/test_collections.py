"""GET/DELETE /v1/collections[/{name}] over HTTP: counts, key scoping, permissions, and deletion of a whole
collection with its documents."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lore.security.scopes import Scope
from lore.wire.schemas import CollectionDeleted, CollectionList, CollectionOut
from tests.api.conftest import LiveServer, assert_error
from tests.keys import bearer, mint_key

DOCUMENTS = [
    {"title": "Refunds", "text": "Refunds reach your card in five days.", "collection": "billing"},
    {"title": "Invoices", "text": "Invoices are emailed monthly.", "collection": "billing"},
    {"title": "Printers", "text": "Hold the wireless button for five seconds.", "collection": "hardware"},
]


@pytest.fixture(scope="module")
def added(client: httpx.Client) -> list[str]:
    responses = [client.post("/v1/documents", json=document) for document in DOCUMENTS]
    assert all(response.status_code == 201 for response in responses), [r.text for r in responses]
    return [response.json()["id"] for response in responses]


def keyed(server: LiveServer, *scopes: Scope, collections: frozenset[str] | None = None) -> httpx.Client:
    key = mint_key(server.lore.store, scopes=frozenset(scopes), collections=collections)
    return httpx.Client(base_url=server.url, timeout=60, headers=bearer(key))


@pytest.fixture
def viewer(server: LiveServer) -> Iterator[httpx.Client]:
    with keyed(server, Scope.SEARCH, Scope.DOCUMENTS_READ, Scope.DOCUMENTS_WRITE) as http:
        yield http


def test_collections_are_listed_with_their_counts(client: httpx.Client, added: list[str]) -> None:
    body = client.get("/v1/collections").json()
    assert CollectionList.model_validate(body).model_dump(mode="json") == body
    counts = {item["name"]: (item["document_count"], item["chunk_count"]) for item in body["items"]}
    assert counts["billing"] == (2, 2) and counts["hardware"] == (1, 1)
    one = client.get("/v1/collections/billing").json()
    assert CollectionOut.model_validate(one).model_dump(mode="json") == one
    assert (one["name"], one["document_count"], one["model"], one["pending_model"]) == (
        "billing",
        2,
        None,
        None,
    )


def test_an_unknown_collection_is_404_naming_those_there_are(client: httpx.Client, added: list[str]) -> None:
    error = assert_error(client.get("/v1/collections/nope"), 404, "not_found")
    assert {"billing", "hardware"} <= set(error["details"]["collections"])
    assert_error(client.delete("/v1/collections/nope"), 404, "not_found")


def test_a_key_of_some_collections_sees_only_those(server: LiveServer, added: list[str]) -> None:
    with keyed(server, Scope.DOCUMENTS_READ, collections=frozenset({"hardware"})) as http:
        names = [item["name"] for item in http.get("/v1/collections").json()["items"]]
        assert names == ["hardware"]
        error = assert_error(http.get("/v1/collections/billing"), 404, "not_found")
        assert error["details"]["collections"] == ["hardware"]  # the others' names are not its to learn


def test_deleting_needs_admin(viewer: httpx.Client, added: list[str]) -> None:
    assert_error(viewer.delete("/v1/collections/hardware"), 403, "forbidden")
    assert viewer.get("/v1/collections/hardware").json()["document_count"] == 1


def test_deleting_a_collection_deletes_its_documents_at_once(client: httpx.Client, added: list[str]) -> None:
    client.post(
        "/v1/documents", json={"title": "Toner", "text": "Toner lasts a year.", "collection": "spares"}
    )
    response = client.delete("/v1/collections/spares")
    assert response.status_code == 200, response.text
    assert CollectionDeleted.model_validate(response.json()).model_dump() == {
        "name": "spares",
        "deleted_documents": 1,
    }
    assert "spares" not in [item["name"] for item in client.get("/v1/collections").json()["items"]]
    hits = client.post("/v1/search", json={"query": "toner lasts a year", "k": 5}).json()["hits"]
    assert all(hit["collection"] != "spares" for hit in hits)
    assert [d["collection"] for d in client.get("/v1/documents").json()["items"]].count("spares") == 0
    audit = client.get("/v1/audit", params={"action": "collection.deleted"}).json()["items"]
    assert [(record["target"], record["summary"]) for record in audit] == [("spares", {"documents": 1})]
