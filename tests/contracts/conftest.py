"""Fixtures of the contract tests: a fresh, migrated `Store` per test for every backend in `STORES`.

A backend joins the store contract by adding a factory here (a later PostgreSQL store adds "postgres").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lore.interfaces import Store


def _sqlite(directory: Path) -> Store:
    from lore.backends.store.sqlite import SqliteStore

    return SqliteStore.from_path(directory / "lore.db")


STORES: dict[str, Callable[[Path], Store]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    instance = STORES[request.param](tmp_path)
    instance.migrate()
    yield instance
    instance.close()
