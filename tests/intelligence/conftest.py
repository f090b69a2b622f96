"""A Lore per store backend (SQLite, PostgreSQL) for the support-intelligence tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lore.config import Settings
from lore.service import Lore


@pytest.fixture(params=["sqlite", "postgres"])
def lore(request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path) -> Iterator[Lore]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=url,
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
    )
    with Lore.open(settings) as service:
        yield service
