"""Liveness, readiness, metrics and the API description, over HTTP."""

from __future__ import annotations

import re
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families


def test_healthz(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_the_store_and_index(client: httpx.Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["store"]["status"] == "ok"
    assert body["vector_index"]["applied_seq"] <= body["vector_index"]["store_seq"]
    assert body["vector_index"]["embedder"]


def test_metrics_count_requests_by_route_template_and_status(client: httpx.Client) -> None:
    created = client.post("/v1/documents", json={"title": "Metrics", "text": "Counted."}).json()
    client.get(f"/v1/documents/{created['id']}")
    client.get("/v1/documents/does-not-exist")
    client.get("/no/such/route")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }

    def requests(route: str, status: str, method: str = "GET") -> float:
        labels = (("method", method), ("route", route), ("status", status))
        return samples.get(("lore_http_requests_total", labels), 0.0)

    assert requests("/v1/documents/{document_id}", "200") >= 1
    assert requests("/v1/documents/{document_id}", "404") >= 1
    assert requests("/v1/documents", "201", "POST") >= 1
    assert requests("<unmatched>", "404") >= 1
    assert not any("does-not-exist" in label for (_name, labels) in samples for _key, label in labels)
    assert samples[("lore_documents_ingested_total", (("kind", "text"),))] >= 1
    assert re.search(r'^lore_http_request_seconds_bucket\{.*route="/v1/documents".*\} ', response.text, re.M)


def test_openapi_describes_the_routes_and_the_error_shape(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Lore"
    assert spec["info"]["version"]
    assert {
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/documents",
        "/v1/documents/{document_id}",
        "/v1/search",
    } <= set(spec["paths"])
    add = spec["paths"]["/v1/documents"]["post"]
    assert {"application/json", "multipart/form-data"} <= set(add["requestBody"]["content"])
    assert add["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_docs_page(client: httpx.Client) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
    assert "/openapi.json" in response.text


def test_docs_page_needs_no_network(client: httpx.Client) -> None:
    """Every script and stylesheet of /docs is served by Lore itself: it works on an offline machine."""
    page = client.get("/docs").text
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+\.(?:js|css))['"]""", page)
    assert len(assets) >= 2
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served locally"
        assert client.get(asset).status_code == 200


def test_openapi_describes_the_answer_event_streams(client: httpx.Client) -> None:
    """Each event of a streamed answer is declared with its JSON data, and every schema it names exists."""
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def resolved(schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref", "")
        return schemas[ref.removeprefix("#/components/schemas/")] if ref else schema

    answer = spec["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]["responses"]["201"][
        "content"
    ]
    assert resolved(answer["application/json"]["schema"])["title"] == "MessageOut"
    events = {
        item["properties"]["event"]["const"]: item["properties"]["data"]
        for item in answer["text/event-stream"]["itemSchema"]["oneOf"]
    }
    assert set(events) == {"token", "message", "error"}
    assert {data["contentMediaType"] for data in events.values()} == {"application/json"}
    assert resolved(events["token"]["contentSchema"])["properties"]["text"]["type"] == "string"
    assert resolved(events["message"]["contentSchema"])["title"] == "MessageOut"
    assert "error" in resolved(events["error"]["contentSchema"])["properties"]

    chat = spec["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    chunks = [item["properties"]["data"] for item in chat["text/event-stream"]["itemSchema"]["oneOf"]]
    assert {"const": "[DONE]"} in chunks
    chunk = next(data["contentSchema"] for data in chunks if data.get("contentSchema", {}).get("properties"))
    assert chunk["properties"]["object"] == {"const": "chat.completion.chunk"}
    for name in ("usage", "lore"):
        assert resolved(chunk["properties"][name])["properties"]
