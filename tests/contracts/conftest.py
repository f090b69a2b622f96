"""Fixtures of the contract tests: a fresh, migrated `Database` per test for every backend in `DATABASES`.

A backend joins the database contract by adding a factory here; it gets the test's temporary directory and the
pytest request, from which a server backend takes a fresh database (`database_url`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lore.backends.store.database import Database


def _sqlite(directory: Path, _request: pytest.FixtureRequest) -> Database:
    from lore.backends.store.sqlite import SqliteDatabase

    return SqliteDatabase.from_path(directory / "lore.db")


def _postgres(_directory: Path, request: pytest.FixtureRequest) -> Database:
    from lore.backends.store.postgres import PostgresDatabase

    return PostgresDatabase(request.getfixturevalue("database_url"), pool_size=2)


DATABASES: dict[str, Callable[[Path, pytest.FixtureRequest], Database]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
}


@pytest.fixture(params=sorted(DATABASES))
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    instance = DATABASES[request.param](tmp_path, request)
    instance.migrate()
    yield instance
    instance.close()
