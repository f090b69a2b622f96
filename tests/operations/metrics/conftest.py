"""A live server exercised once per module (documents, searches in every mode, a background job, a plain and a
streamed answer, refused requests), and its /metrics parsed: what the metrics, dashboard and alert tests check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import LiveServer, small_server
from tests.keys import bearer, mint_key
from tests.waiting import wait_for

JSON_LIMIT = 64 * 1024
HISTORY_SECONDS = 0.25
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    with small_server(
        tmp_path_factory.mktemp("operations"),
        model_cache,
        max_request_bytes=JSON_LIMIT,
        rate_limit_sign_in="2/minute",
        metrics_history_seconds=HISTORY_SECONDS,
    ) as live:
        yield live


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60, headers=bearer(mint_key(server.lore.store))) as http:
        yield http


@pytest.fixture(scope="module")
def exercised(client: httpx.Client) -> str:
    """The exposition after every kind of work Lore measures."""
    text = "Refunds reach your card within five business days. Ask support to speed a refund up."
    assert client.post("/v1/documents", json={"title": "Refunds", "text": text}).status_code == 201
    for mode in ("hybrid", "vector", "keyword"):
        response = client.post("/v1/search", json={"query": f"refund card {mode}", "mode": mode})
        assert response.status_code == 200, response.text
    job = client.post(
        "/v1/ingest", json={"documents": [{"title": "Shipping", "text": "Parcels ship daily."}]}
    )
    assert job.status_code == 202, job.text
    wait_for(lambda: client.get(f"/v1/jobs/{job.json()['id']}").json()["state"] == "succeeded", "the job")
    conversation = client.post("/v1/conversations").json()["id"]
    question = {"content": "How long does a refund take?"}
    assert client.post(f"/v1/conversations/{conversation}/messages", json=question).status_code == 201
    with client.stream(
        "POST", f"/v1/conversations/{conversation}/messages", json={**question, "stream": True}
    ) as streamed:
        assert streamed.status_code == 201
        streamed.read()
    too_large = client.post("/v1/search", json={"query": "x" * JSON_LIMIT})
    assert too_large.status_code == 413
    sign_in = {"email": "nobody@example.com", "password": "not-the-password"}
    refused = [client.post("/v1/auth/login", json=sign_in, headers={"authorization": ""}) for _ in range(3)]
    assert refused[-1].status_code == 429, refused[-1].text
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.text


def samples_of(exposition: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def exported_names(exposition: str) -> set[str]:
    """Every series name the exposition's families can have, whether or not they have samples yet: a counter
    `x` is `x_total`, a histogram `x` is `x_bucket`, `x_sum` and `x_count`."""
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("_sum", "_count"),
    }
    names = set()
    for family in text_string_to_metric_families(exposition):
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names
