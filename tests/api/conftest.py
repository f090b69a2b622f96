"""A real uvicorn server per test module, over a real Lore on a temporary data dir, reached with httpx."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from lore.api import create_app
from lore.config import Settings
from lore.security.secrets import generate_key
from lore.service import Lore
from tests.keys import bearer, mint_key
from tests.waiting import wait_for

JSON_LIMIT = 64 * 1024
TEST_SIGNING_SECRET = "test-signing-secret-for-servers-on-postgresql"
UPLOAD_LIMIT = 256 * 1024


class LiveServer:
    """uvicorn on a free loopback port, in a thread; the context exits through uvicorn's graceful shutdown."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(
            app, lifespan="on", ws="none", log_level="warning", access_log=False, server_header=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for(
            lambda: self.server.started or not self.thread.is_alive(), "the API server to start", poll=0.02
        )
        assert self.server.started, "the API server stopped before it started"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        self.socket.close()

    @property
    def lore(self) -> Lore:
        return self.app.state.lore


@contextmanager
def small_server(data_dir: Path, model_cache: Path, **settings: Any) -> Iterator[LiveServer]:
    """A live server over a fresh SQLite data dir, with one parse worker and one embedding thread (the
    machines running the suite have two cores); `settings` are any others."""
    base = Settings(
        _env_file=None,
        data_dir=data_dir,
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        **settings,
    )
    with LiveServer(create_app(base)) as live:
        yield live


# Modules whose tests read and write stored content through the API: they run on SQLite and on PostgreSQL.
STORAGE_MODULES = {"test_documents", "test_search", "test_conversations"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module in STORAGE_MODULES and "api_settings" in metafunc.fixturenames:
        metafunc.parametrize("api_backend", ["sqlite", "postgres"], indirect=True, scope="module")


@pytest.fixture(scope="module")
def api_backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="module")
def api_database_url(api_backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (SQLite in the data dir) or a PostgreSQL database kept for the module's server."""
    if api_backend != "postgres":
        yield None
        return
    postgres = request.getfixturevalue("postgres")
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture(scope="module")
def api_settings(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path, api_database_url: str | None
) -> Settings:
    """Small body limits, so the size checks are exercised with small bodies. A PostgreSQL store needs a
    signing secret and secret keys given; SQLite makes its own."""
    return Settings(
        _env_file=None,
        database_url=api_database_url,
        signing_secret=TEST_SIGNING_SECRET if api_database_url else None,
        secret_keys=SecretStr(generate_key()) if api_database_url else None,
        data_dir=tmp_path_factory.mktemp("api-data"),
        model_cache_dir=model_cache,
        max_request_bytes=JSON_LIMIT,
        max_upload_bytes=UPLOAD_LIMIT,
        parse_workers=1,
        embed_threads=1,
    )


@pytest.fixture(scope="module")
def server(api_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(create_app(api_settings)) as live:
        yield live


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    """Authenticated as the operator: every scope of the default tenant."""
    headers = bearer(mint_key(server.lore.store))
    with httpx.Client(base_url=server.url, timeout=60, headers=headers) as http:
        yield http


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one error shape, with the expected status and stable code; returns the error object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    assert "Traceback" not in response.text
    return error


def upload(
    client: httpx.Client,
    name: str,
    content: bytes | str,
    content_type: str = "application/octet-stream",
    **fields: Any,
) -> httpx.Response:
    """POST a file as multipart/form-data, with optional form fields (lists repeat the field)."""
    data = content.encode() if isinstance(content, str) else content
    return client.post("/v1/documents", files={"file": (name, data, content_type)}, data=fields)
