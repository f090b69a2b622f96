"""`deactivate`, the store step that takes a collection back to no adapter, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lore.backends.store.database import Database
from lore.config import Settings
from lore.errors import Conflict
from lore.registry import create_store


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    store = create_store(Settings(_env_file=None, data_dir=tmp_path, database_url=url))
    store.migrate()
    yield store
    store.close()


def test_deactivate_leaves_no_version_active_and_rollback_brings_it_back(db: Database) -> None:
    records = db.trained_models
    first = records.save("default", "adapter", "help", b"1", data_hash="a")
    with pytest.raises(Conflict, match="no active version"):
        records.deactivate("default", "adapter", "help")
    records.activate("default", first.id)
    records.save("acme", "adapter", "help", b"2", data_hash="b")
    retired = records.deactivate("default", "adapter", "help")
    assert retired.id == first.id and retired.status == "retired"
    assert records.active("default", "adapter", "help") is None
    assert records.rollback("default", "adapter", "help").id == first.id
    assert [m.status for m in records.versions("acme", "adapter")] == ["candidate"]
