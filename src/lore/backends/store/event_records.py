"""`EventRecords`, the database's `events` repository: what users did (views, clicks, feedback, ratings,
resolved tickets) and what the server saw (searches, answers, classifications), per tenant.

Events are appended in batches and are idempotent by (tenant, event id): a batch sent twice stores each event
once, so clients may retry freely. They are read back in the order they were stored (`stream`), newest first in
cursor pages (`page`), and erased per user. Models (recommendations, gaps, adapters) read them through `stream`;
`search_analytics` aggregates searches and their clicks (lore.backends.store.search_analytics).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lore.backends.store import codec, paging, refusing_unstorable
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import events
from lore.backends.store.search_analytics import SearchAnalytics, search_analytics
from lore.errors import InvalidInput
from lore.models import Event, Page

if TYPE_CHECKING:
    from lore.backends.store.database import Database

BATCH = 1000


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
        rows = [_row(event) for event in batch]
        statement = self.db._insert(events).on_conflict_do_nothing(
            index_elements=[events.c.tenant_id, events.c.event_id]
        )
        # The ids of the rows inserted, not the driver's rowcount: psycopg's is -1 for a batch.
        with refusing_unstorable(), self.db.write() as conn:
            return len(conn.execute(statement.returning(events.c.id), rows).all())

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

    def existing(self, tenant_id: str, event_ids: Sequence[str]) -> set[str]:
        """Which of `event_ids` the tenant has stored already (what a retried batch would not store again)."""
        found: set[str] = set()
        with self.db.read() as conn:
            for batch in codec.in_batches(sorted(set(event_ids))):
                query = sa.select(events.c.event_id).where(
                    events.c.tenant_id == tenant_id, events.c.event_id.in_(batch)
                )
                found.update(conn.execute(query).scalars())
        return found

    def erase_user(self, tenant_id: str, user_id: str) -> int:
        """Delete every event of one user (an end user's erasure); how many there were."""
        with self.db.write() as conn:
            return delete_user_events(conn, tenant_id, user_id)

    def search_analytics(
        self,
        tenant_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        limit: int = 20,
        min_searches: int = 3,
    ) -> SearchAnalytics:
        """Top queries, queries searched at least `min_searches` times and never clicked, click-through by
        rank and queries without results, over the searches with `since <= at < until`."""
        paging.check_limit(limit)
        with self.db.read() as conn:
            return search_analytics(conn, tenant_id, since, until, limit=limit, min_searches=min_searches)


def user_events(conn: sa.Connection, tenant_id: str, user_id: str) -> list[Event]:
    """Every event of one user, in the order stored: read inside a caller's transaction (an end user's export)."""
    query = sa.select(events).where(events.c.tenant_id == tenant_id, events.c.user_id == user_id)
    return [_event(row) for row in conn.execute(query.order_by(events.c.id))]


def delete_user_events(conn: sa.Connection, tenant_id: str, user_id: str) -> int:
    """Delete every event of one user inside a caller's transaction; how many there were."""
    statement = sa.delete(events).where(events.c.tenant_id == tenant_id, events.c.user_id == user_id)
    return int(conn.execute(statement).rowcount)


def _row_id(cursor: str) -> int:
    if not cursor.isdigit():
        raise InvalidInput("cursor is not one this listing returned", details={"cursor": cursor[:64]})
    return int(cursor)


_STORED = tuple(f.name for f in fields(Event) if f.name != "id")


def _row(event: Event) -> dict[str, Any]:
    """An event's columns: its fields as they are (`asdict` deep-copied each `data` dict, a third of the cost
    of storing a search's event)."""
    return {name: getattr(event, name) for name in _STORED}
