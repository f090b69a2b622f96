"""/readyz over real servers: every component with its status and latency when all is well; a 503 naming the
component when one it needs fails (Redis on a closed port); a failing provider reported without taking the
replica out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.api import create_app
from tests.answers.servers import LiveServer as ModelServer
from tests.answers.servers import Reply, Script
from tests.api.conftest import LiveServer, assert_error
from tests.keys import bearer, mint_key
from tests.operations.conftest import answering_settings, sdk_connections_collected
from tests.served import free_port  # a loopback port nothing listens on

REQUIRED = {"store", "vector_index", "keyword_index", "queue"}


def assert_component(component: dict[str, Any], status: str) -> None:
    assert component["status"] == status
    assert isinstance(component["latency_ms"], float) and 0 <= component["latency_ms"] < 10_000


def test_a_healthy_server_reports_every_component_with_its_latency(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == REQUIRED | {"providers"}  # no Redis configured: none reported
    for component in body.values():
        assert_component(component, "ok")
    assert body["store"]["backend"] == "sqlite" and body["store"]["store_seq"] >= 0
    assert body["vector_index"]["changes_behind"] == 0 and body["vector_index"]["embedder"]
    assert body["queue"]["backend"] == "sqlite" and set(body["queue"]["jobs"]) >= {"queued", "failed"}
    providers = body["providers"]
    assert providers["configured"] == ["openai"] and providers["circuits"] == {"openai": "closed"}


def test_redis_on_a_closed_port_takes_the_replica_out(
    tmp_path: Path, model_cache: Path, model_server: ModelServer
) -> None:
    settings = answering_settings(
        tmp_path, model_cache, model_server, redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    with LiveServer(create_app(settings)) as live:
        error = assert_error(httpx.get(f"{live.url}/readyz"), 503, "not_ready")
        assert "redis" in error["message"]
        components = error["details"]
        assert_component(components["redis"], "failing")
        assert components["redis"]["reason"] == "ConnectionError"
        assert "127.0.0.1" not in str(components["redis"])  # the reason, never the URL
        for name in REQUIRED:
            assert_component(components[name], "ok")
        assert httpx.get(f"{live.url}/healthz").status_code == 200
    sdk_connections_collected()


def test_a_queue_on_an_unreachable_redis_takes_the_replica_out(
    tmp_path: Path, model_cache: Path, model_server: ModelServer
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0?queue=lore_ready"
    settings = answering_settings(tmp_path, model_cache, model_server, queue_url=url, worker_threads=0)
    with LiveServer(create_app(settings)) as live:
        error = assert_error(httpx.get(f"{live.url}/readyz"), 503, "not_ready")
        assert_component(error["details"]["queue"], "failing")
        assert error["details"]["queue"]["reason"] == "ConnectionError"
        assert_component(error["details"]["store"], "ok")
    sdk_connections_collected()


@pytest.fixture
def fragile(tmp_path: Path, model_cache: Path) -> Iterator[tuple[LiveServer, Script]]:
    """A server whose provider's circuit opens at its first failure."""
    script = Script()
    with ModelServer(script) as model_server:
        settings = answering_settings(tmp_path, model_cache, model_server, llm_breaker_failures=1)
        with LiveServer(create_app(settings)) as live:
            yield live, script
    sdk_connections_collected()


def test_a_failing_provider_is_reported_but_the_replica_stays_ready(
    fragile: tuple[LiveServer, Script],
) -> None:
    live, script = fragile
    script.then(Reply(status=503))
    with httpx.Client(base_url=live.url, headers=bearer(mint_key(live.lore.store)), timeout=60) as client:
        client.post(
            "/v1/documents", json={"title": "Refunds", "text": "Refunds take five days.", "source": "r"}
        )
        conversation = client.post("/v1/conversations").json()["id"]
        asked = client.post(f"/v1/conversations/{conversation}/messages", json={"content": "Refunds?"})
        assert asked.status_code == 503
        ready = client.get("/readyz")
    assert ready.status_code == 200
    providers = ready.json()["providers"]
    assert_component(providers, "failing")
    assert providers["circuits"] == {"openai": "open"}
