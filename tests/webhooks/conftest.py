"""Fixtures of the webhook tests: a live API server whose endpoints may be on loopback (the receivers are), with
retries, timeouts and the disabling of a failing endpoint shrunk to test size; a receiver per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import LiveServer, small_server
from tests.keys import bearer, mint_key
from tests.webhooks.receiver import Receiver

WEBHOOK_SETTINGS: dict[str, Any] = {
    "webhook_allow_loopback": True,
    "webhook_timeout_seconds": 0.5,
    "webhook_attempts": 4,
    "webhook_retry_base_seconds": 0.2,
    "webhook_disable_after_failures": 3,
    "webhook_disable_after_seconds": 0,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    with small_server(tmp_path_factory.mktemp("webhooks"), model_cache, **WEBHOOK_SETTINGS) as live:
        yield live


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60, headers=bearer(mint_key(server.lore.store))) as http:
        yield http


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as instance:
        yield instance


@pytest.fixture
def unsubscribed(client: httpx.Client) -> Iterator[None]:
    """Each test starts with no endpoint, and leaves none to receive the next test's events."""
    yield
    for webhook in client.get("/v1/webhooks", params={"limit": 200}).json()["items"]:
        client.delete(f"/v1/webhooks/{webhook['id']}").raise_for_status()
