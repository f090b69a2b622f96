"""The security parts over a real store: a fresh SQLite file or PostgreSQL database per test, migrated, with
the tenants the tests use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lore.backends.store.database import Database
from lore.backends.store.postgres import PostgresDatabase
from lore.backends.store.sqlite import SqliteDatabase

TENANTS = ("default", "acme")


def open_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Database:
    if backend == "postgres":
        return PostgresDatabase(request.getfixturevalue("database_url"), pool_size=8)
    return SqliteDatabase.from_path(tmp_path / "lore.db")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = open_database(request.param, tmp_path, request)
    database.migrate()
    for tenant in TENANTS:
        database.documents.ensure_collection(tenant, "default")
    yield database
    database.close()
