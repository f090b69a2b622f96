"""Fixtures of the support-intelligence tests: a migrated store (`db`) and settings for a whole Lore (`settings`),
each on SQLite and on PostgreSQL, and events made the way clients and the server make them; for the intent
tests, a labelled CSV (`intent_csv`) and a Lore on SQLite (`intent_lore`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lore.backends.store.database import Database
from lore.config import Settings
from lore.models import Access, ChunkDraft, Document, DocumentDraft, Event, content_hash, utcnow
from lore.registry import create_store
from lore.service import Lore
from tests.intelligence.intent_data import as_csv, labelled_rows, make_settings

TENANT, OTHER = "default", "acme"


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    store = create_store(Settings(_env_file=None, data_dir=tmp_path / "data", database_url=url))
    store.migrate()
    store.tenants.ensure_default()
    store.tenants.create(OTHER)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path) -> Settings:
    """A whole Lore's settings (its model from the shared cache), on each store."""
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=url,
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
    )


def write(
    db: Database, text: str, *, tenant: str = TENANT, collection: str = "help", access: Access | None = None
) -> Document:
    """A one-chunk document with a fixed 4-d vector."""
    chunk = ChunkDraft(0, text, (), len(text.split()), text)
    draft = DocumentDraft(
        tenant, collection, "Title", f"{content_hash(text)[:8]}.md", text, content_hash(text), access=access
    )
    return db.documents.write_document(draft, [chunk], {chunk.content_hash: np.ones(4, np.float32)}, "m")


def event(
    event_id: str, kind: str = "view", *, tenant: str = TENANT, at: datetime | None = None, **fields: Any
) -> Event:
    now = utcnow()
    return Event(tenant, event_id, kind, at or now, now, "operator", **fields)


def search(
    search_id: str, query: str, hits: int, *, at: datetime | None = None, tenant: str = TENANT
) -> Event:
    """A `search` event as the server records it: `hits` hits, the top one scored 0.9 (none: no score)."""
    data = {"mode": "hybrid", "hits": hits, "document_ids": [f"d{i}" for i in range(hits)], "chunk_ids": []}
    return event(
        f"search-{search_id}",
        "search",
        tenant=tenant,
        at=at,
        search_id=search_id,
        query=query,
        value=0.9 if hits else None,
        data=data,
    )


def click(search_id: str, rank: int, *, n: int = 0, tenant: str = TENANT) -> Event:
    return event(
        f"click-{search_id}-{rank}-{n}",
        "click",
        tenant=tenant,
        search_id=search_id,
        rank=rank,
        document_id=f"d{rank - 1}",
    )


HOUR = timedelta(hours=1)


@pytest.fixture(scope="session")
def intent_csv() -> bytes:
    return as_csv(labelled_rows())


@pytest.fixture
def intent_lore(tmp_path: Path, model_cache: Path) -> Iterator[Lore]:
    with Lore.open(make_settings(tmp_path / "data", model_cache)) as service:
        yield service
