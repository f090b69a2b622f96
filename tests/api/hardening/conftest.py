"""One real server for the hardening tests, configured as an operator would: an allowed browser origin, the
public host names, and small JSON bounds so that exceeding them takes small bodies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lore.api import create_app
from lore.config import Settings
from tests.api.conftest import LiveServer
from tests.keys import bearer, mint_key

APP_ORIGIN = "https://app.example"  # the one browser origin allowed to call the API (LORE_CORS_ORIGINS)
EVIL_ORIGIN = "https://evil.example"
PUBLIC_HOSTS = ["lore.example.com", "*.corp.example"]
MAX_JSON_DEPTH = 8
MAX_JSON_ITEMS = 1000


@pytest.fixture(scope="package")
def hardened_settings(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("hardened"),
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        cors_origins=[APP_ORIGIN],
        allowed_hosts=PUBLIC_HOSTS,
        max_json_depth=MAX_JSON_DEPTH,
        max_json_items=MAX_JSON_ITEMS,
        max_request_bytes=64 * 1024,
    )


@pytest.fixture(scope="package")
def server(hardened_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(create_app(hardened_settings)) as live:
        yield live


@pytest.fixture(scope="package")
def operator_token(server: LiveServer) -> str:
    return mint_key(server.lore.store)


@pytest.fixture(scope="package")
def client(server: LiveServer, operator_token: str) -> Iterator[httpx.Client]:
    """What curl and SDKs send (no Origin, no Sec-Fetch-* headers), with the operator's key: every scope."""
    with httpx.Client(base_url=server.url, timeout=60, headers=bearer(operator_token)) as http:
        yield http


@pytest.fixture(scope="package")
def anonymous(server: LiveServer) -> Iterator[httpx.Client]:
    """No credentials at all: the public routes answer it."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http
