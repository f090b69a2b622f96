"""Fixtures of the contract tests: a fresh, migrated `Store` per test for every backend in `STORES`.

A backend joins the store contract by adding a factory here; it gets the test's temporary directory and the
pytest request, from which a database backend takes a fresh database (`database_url`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lore.interfaces import Store


def _sqlite(directory: Path, _request: pytest.FixtureRequest) -> Store:
    from lore.backends.store.sqlite import SqliteStore

    return SqliteStore.from_path(directory / "lore.db")


def _postgres(_directory: Path, request: pytest.FixtureRequest) -> Store:
    from lore.backends.store.postgres import PostgresStore

    return PostgresStore(request.getfixturevalue("database_url"), pool_size=2)


STORES: dict[str, Callable[[Path, pytest.FixtureRequest], Store]] = {"sqlite": _sqlite, "postgres": _postgres}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    instance = STORES[request.param](tmp_path, request)
    instance.migrate()
    yield instance
    instance.close()
