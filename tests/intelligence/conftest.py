"""Knowledge-gap fixtures: a Lore on SQLite and on PostgreSQL with a small help centre, and events written
straight into its store the way the server records them (fields as docs/events.md defines them)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lore.backends.store.event_records import Event
from lore.config import Settings
from lore.models import DEFAULT_TENANT

UNTIL = datetime(2025, 3, 29, tzinfo=UTC)  # the report's window: four whole weeks before it
SINCE = UNTIL - timedelta(days=28)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path) -> Settings:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=url,
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
    )


def days_before(days: float) -> datetime:
    return UNTIL - timedelta(days=days)


def event(kind: str, *, at: datetime, tenant: str = DEFAULT_TENANT, **fields: Any) -> Event:
    fields.setdefault("actor", "key:site")
    return Event(tenant_id=tenant, event_id=uuid.uuid4().hex, kind=kind, at=at, received_at=at, **fields)


def answer(
    question: str,
    message_id: int | None,
    *,
    at: datetime,
    confidence: float | None = 0.8,
    abstained: bool = False,
    **fields: Any,
) -> Event:
    """An answer in a conversation (a chat completion's: `message_id` None), with its retrieval's search id."""
    fields.setdefault("search_id", f"retrieval-{message_id if message_id is not None else uuid.uuid4().hex}")
    data = {"abstained": abstained, "provider": "extractive", "document_ids": []}
    return event(
        "answer",
        at=at,
        query=question,
        conversation_id=None if message_id is None else f"c{message_id}",
        message_id=message_id,
        value=confidence,
        data=data,
        **fields,
    )


def search(
    query: str, search_id: str, *, at: datetime, hits: int = 0, score: float | None = None, **fields: Any
) -> Event:
    data = {"mode": fields.pop("mode", "hybrid"), "hits": hits, "document_ids": [], "chunk_ids": []}
    return event("search", at=at, query=query, search_id=search_id, value=score, data=data, **fields)
