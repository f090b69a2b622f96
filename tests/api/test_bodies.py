"""Large JSON bodies are parsed on a worker thread: with the same results, and the same errors, as small ones."""

from __future__ import annotations

import json

import httpx

from tests.api.conftest import JSON_LIMIT, assert_error

JSON = {"content-type": "application/json"}


def test_a_large_json_document_is_added(client: httpx.Client) -> None:
    text = "Herons stand still in shallow water. " * ((JSON_LIMIT - 1000) // 38)
    body = json.dumps({"title": "Herons", "text": text, "source": "herons"}).encode()
    assert 16 * 1024 < len(body) <= JSON_LIMIT
    created = client.post("/v1/documents", content=body, headers=JSON)
    assert created.status_code == 201, created.text
    assert client.get(f"/v1/documents/{created.json()['id']}").json()["text"].startswith("Herons stand")


def test_a_large_body_that_is_not_json_is_still_invalid_json(client: httpx.Client) -> None:
    body = b'{"title": "x", "text": "' + b"y" * (JSON_LIMIT - 100)  # never closed
    error = assert_error(client.post("/v1/documents", content=body, headers=JSON), 400, "invalid_json")
    assert error["details"]["fields"][0]["loc"] == ["body"]
