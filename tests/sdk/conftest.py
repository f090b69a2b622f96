"""The SDK against a real `lore serve` on loopback: one server per test module (a fresh data dir), the
operator's key it was started with, and clients of both kinds over it. Sign-ins are allowed more often than by
default: the tests log in many times a minute from one address."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import lore_client._client
import pytest
from lore_client import Lore

from tests.served import ServedLore, serve_env
from tests.waiting import PATIENCE


@pytest.fixture(autouse=True)
def patient_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients made without a timeout wait as long as the tests' other waits: a loaded machine (argon2 hashes,
    embeddings) is slow, not wrong. Tests of timeouts give theirs."""
    monkeypatch.setattr(lore_client._client, "DEFAULT_TIMEOUT", PATIENCE)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[ServedLore]:
    data_dir = tmp_path_factory.mktemp("sdk-data")
    env = serve_env(data_dir, model_cache, rate_limit_sign_in="600/minute")
    with ServedLore(env, cwd=data_dir) as server:
        yield server


@pytest.fixture(scope="module")
def operator_key(served: ServedLore) -> str:
    """Every scope of the default tenant."""
    return served.headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def lore(served: ServedLore, operator_key: str) -> Iterator[Lore]:
    with Lore(served.url, api_key=operator_key) as client:
        yield client


@pytest.fixture
def collection() -> str:
    """A collection of the test's own, so tests sharing the server never see each other's documents."""
    return f"sdk-{uuid.uuid4().hex[:12]}"
