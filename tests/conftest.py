"""Shared fixtures: a fresh Lore on a temporary data directory, with the real model and real files.

PostgreSQL (18, with pgvector) for tests that need it:
- `postgres` (session): one real server on 127.0.0.1 (`tests.pgserver.PostgresServer`), started on first use
  and stopped at the end. `postgres.create_database()` returns the URL of a new database with every migration
  applied (`migrated=False`: only the pgvector extension); `postgres.drop_database(url)` drops it.
- `database_url` (function): the URL of a fresh, empty (migrated, no rows) database, dropped after the test.
  Use it as `Settings(database_url=database_url)`, as `LORE_DATABASE_URL` for a subprocess, or for huey's
  PostgreSQL storage.
- `settings` runs each service test on `sqlite-fts`, `sqlite-memory` and `postgres`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lore.config import Settings
from lore.service import Lore
from tests.pgserver import PostgresServer


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache per test session, so the int8 variant is built once and not in the user's home."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def database_url(postgres: PostgresServer) -> Iterator[str]:
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


# backend id -> (keyword index, whether the store is PostgreSQL)
BACKENDS = {"sqlite-fts": ("store", False), "sqlite-memory": ("memory", False), "postgres": ("store", True)}


@pytest.fixture(params=list(BACKENDS))
def settings(request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path) -> Settings:
    """Every service test runs on each backend: SQLite with its full-text index, SQLite with the in-memory
    BM25, and PostgreSQL with tsvector keywords and pgvector."""
    keyword_index, on_postgres = BACKENDS[request.param]
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=request.getfixturevalue("database_url") if on_postgres else None,
        model_cache_dir=model_cache,
        parse_workers=2,
        embed_threads=1,
        keyword_index=keyword_index,
    )


@pytest.fixture
def lore(settings: Settings) -> Iterator[Lore]:
    with Lore.open(settings) as service:
        yield service
