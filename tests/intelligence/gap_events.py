"""Events of the knowledge-gap tests, written straight into a store the way the server records them (fields as
docs/events.md defines them), in a fixed four-week window."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lore.models import DEFAULT_TENANT, Event

UNTIL = datetime(2025, 3, 29, tzinfo=UTC)  # the report's window: four whole weeks before it
SINCE = UNTIL - timedelta(days=28)


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
