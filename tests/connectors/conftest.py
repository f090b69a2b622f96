"""Fixtures of the connector tests: a Lore on SQLite that may sync websites on loopback, crawling fast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lore.config import Settings
from lore.service import Lore
from tests.connectors.site import Served, Site


@pytest.fixture
def sync_settings(tmp_path: Path, model_cache: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        crawl_allow_loopback=True,
        crawl_requests_per_second=200.0,
    )


@pytest.fixture
def lore(sync_settings: Settings) -> Iterator[Lore]:
    with Lore.open(sync_settings) as service:
        yield service


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
def site_url(site: Site) -> Iterator[str]:
    with Served(site) as url:
        yield url
