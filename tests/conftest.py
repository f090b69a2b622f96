"""Shared fixtures: a fresh Lore on a temporary data directory, with the real model and real files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lore.config import Settings
from lore.service import Lore


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache per test session, so the int8 variant is built once and not in the user's home."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(params=["store", "memory"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path) -> Settings:
    """Every service test runs with each keyword index: the store's full-text index and the in-memory BM25."""
    return Settings(
        data_dir=tmp_path / "data",
        model_cache_dir=model_cache,
        parse_workers=2,
        embed_threads=1,
        keyword_index=request.param,
    )


@pytest.fixture
def lore(settings: Settings) -> Iterator[Lore]:
    with Lore.open(settings) as service:
        yield service
