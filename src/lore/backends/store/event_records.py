"""`EventRecords`, the database's `events` repository: what users did (views, clicks, feedback, ratings,
resolved tickets) and what the server saw (searches, answers, classifications), per tenant.

Events are appended in batches and are idempotent by (tenant, event id): a batch sent twice stores each event
once, so clients may retry freely. They are read back in the order they were stored (`stream`), newest first in
cursor pages (`page`), and erased per user. Models (recommendations, gaps, adapters) read them through `stream`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lore.backends.store import paging, refusing_unstorable
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import events
from lore.errors import InvalidInput
from lore.models import Page

if TYPE_CHECKING:
    from lore.backends.store.database import Database

BATCH = 1000


@dataclass(frozen=True, slots=True)
class Event:
    """One event as stored; `id` is the row id the store gave it (0 before it is stored)."""

    tenant_id: str
    event_id: str
    kind: str
    at: datetime
    received_at: datetime
    actor: str
    user_id: str | None = None
    document_id: str | None = None
    chunk_id: int | None = None
    collection: str | None = None
    search_id: str | None = None
    conversation_id: str | None = None
    message_id: int | None = None
    query: str | None = None
    rank: int | None = None
    value: float | None = None
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: int = 0


@dataclass(frozen=True, slots=True)
class EventFilters:
    """What a read narrows to: kinds, one user, one document, and `since <= at < until`."""

    kinds: frozenset[str] | None = None
    user_id: str | None = None
    document_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


_COLUMNS = [f.name for f in fields(Event)]


def _event(row: AnyRow) -> Event:
    return Event(**{name: getattr(row, name) for name in _COLUMNS})


def _where(query: sa.Select[Any], tenant_id: str, filters: EventFilters) -> sa.Select[Any]:
    query = query.where(events.c.tenant_id == tenant_id)
    if filters.kinds is not None:
        query = query.where(events.c.kind.in_(sorted(filters.kinds)))
    if filters.user_id is not None:
        query = query.where(events.c.user_id == filters.user_id)
    if filters.document_id is not None:
        query = query.where(events.c.document_id == filters.document_id)
    if filters.since is not None:
        query = query.where(events.c.at >= filters.since)
    if filters.until is not None:
        query = query.where(events.c.at < filters.until)
    return query


class EventRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, batch: Sequence[Event]) -> int:
        """Store the events not stored before (by tenant and event id), in one transaction; how many were new."""
        if not batch:
            return 0
        rows = [{k: v for k, v in asdict(event).items() if k != "id"} for event in batch]
        statement = self.db._insert(events).on_conflict_do_nothing(
            index_elements=[events.c.tenant_id, events.c.event_id]
        )
        with refusing_unstorable(), self.db.write() as conn:
            result = conn.execute(statement, rows)
        return max(int(result.rowcount), 0)

    def stream(self, tenant_id: str, filters: EventFilters = EventFilters()) -> Iterator[Event]:
        """Every matching event in the order stored, read in batches by row id (not one long transaction)."""
        after = 0
        while True:
            query = _where(sa.select(events), tenant_id, filters).where(events.c.id > after)
            with self.db.read() as conn:
                batch = [_event(row) for row in conn.execute(query.order_by(events.c.id).limit(BATCH))]
            yield from batch
            if len(batch) < BATCH:
                return
            after = batch[-1].id

    def page(
        self, tenant_id: str, limit: int, cursor: str | None = None, filters: EventFilters = EventFilters()
    ) -> Page[Event]:
        """One page of matching events, newest stored first; `cursor` is the previous page's `next_cursor`."""
        paging.check_limit(limit)
        query = _where(sa.select(events), tenant_id, filters)
        if cursor is not None:
            query = query.where(events.c.id < _row_id(cursor))
        with self.db.read() as conn:
            rows = [_event(row) for row in conn.execute(query.order_by(events.c.id.desc()).limit(limit + 1))]
        return paging.page(rows, limit, lambda event: str(event.id))

    def count(self, tenant_id: str, filters: EventFilters = EventFilters()) -> dict[str, int]:
        """How many matching events of each kind the tenant has."""
        query = _where(sa.select(events.c.kind, sa.func.count()), tenant_id, filters).group_by(events.c.kind)
        with self.db.read() as conn:
            return {str(kind): int(n) for kind, n in conn.execute(query)}

    def erase_user(self, tenant_id: str, user_id: str) -> int:
        """Delete every event of one user (an end user's erasure); how many there were."""
        statement = sa.delete(events).where(events.c.tenant_id == tenant_id, events.c.user_id == user_id)
        with self.db.write() as conn:
            return int(conn.execute(statement).rowcount)


def _row_id(cursor: str) -> int:
    if not cursor.isdigit():
        raise InvalidInput("cursor is not one this listing returned", details={"cursor": cursor[:64]})
    return int(cursor)
