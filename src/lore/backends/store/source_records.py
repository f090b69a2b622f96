"""`SourceRecords`, the database's `sources` repository: tenants' stored sources, what each sync of one
remembers, and the claiming of due ones. A due source is claimed by a conditional UPDATE of its
`next_run_at`, so of several schedulers (one per worker and server) exactly one enqueues each run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lore.backends.store.paging import newest_first, page
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import sources
from lore.errors import Conflict
from lore.models import Page, utcnow

if TYPE_CHECKING:
    from lore.backends.store.database import Database


@dataclass(frozen=True, slots=True)
class SourceRecord:
    id: str
    tenant_id: str
    name: str
    kind: str
    location: str
    collection: str
    options: dict[str, str]
    interval_seconds: int | None
    next_run_at: datetime | None
    state: dict[str, Any]
    last_run: dict[str, Any] | None
    last_run_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _source(row: AnyRow) -> SourceRecord:
    values = row._mapping
    return SourceRecord(**{f.name: values[f.name] for f in fields(SourceRecord)})


def _one(tenant_id: str, source_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(sources.c.tenant_id == tenant_id, sources.c.id == source_id)


class SourceRecords:
    def __init__(self, db: Database) -> None:
        self._db = db

    def insert(self, values: Mapping[str, Any]) -> SourceRecord:
        now = utcnow()
        row = {"options": {}, "state": {}, "created_at": now, "updated_at": now, **values}
        if row.get("interval_seconds"):
            row["next_run_at"] = now
        try:
            with self._db.write() as conn:
                conn.execute(sa.insert(sources).values(row))
        except sa.exc.IntegrityError:  # the name is taken (the tenant is checked before)
            raise Conflict(
                f"a source named {row['name']!r} exists already", details={"name": row["name"]}
            ) from None
        found = self.get(row["tenant_id"], row["id"])
        assert found is not None
        return found

    def get(self, tenant_id: str, source_id: str) -> SourceRecord | None:
        with self._db.read() as conn:
            row = conn.execute(sa.select(sources).where(_one(tenant_id, source_id))).first()
        return _source(row) if row is not None else None

    def named(self, tenant_id: str, name: str) -> SourceRecord | None:
        query = sa.select(sources).where(sources.c.tenant_id == tenant_id, sources.c.name == name)
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return _source(row) if row is not None else None

    def newest(self, tenant_id: str, limit: int, cursor: str | None) -> Page[SourceRecord]:
        query = newest_first(
            sa.select(sources).where(sources.c.tenant_id == tenant_id), sources, limit, cursor
        )
        with self._db.read() as conn:
            return page([_source(row) for row in conn.execute(query)], limit)

    def delete(self, tenant_id: str, source_id: str) -> bool:
        with self._db.write() as conn:
            return conn.execute(sa.delete(sources).where(_one(tenant_id, source_id))).rowcount > 0

    def save_run(
        self, tenant_id: str, source_id: str, state: dict[str, Any], last_run: dict[str, Any]
    ) -> None:
        values = {"state": state, "last_run": last_run, "last_run_at": utcnow(), "updated_at": utcnow()}
        with self._db.write() as conn:
            conn.execute(sa.update(sources).where(_one(tenant_id, source_id)).values(values))

    def claim_due(self, now: datetime | None = None, limit: int = 100) -> list[SourceRecord]:
        """Scheduled sources whose run is due, each moved to its next run by a conditional UPDATE: a source
        another scheduler claimed first is left out."""
        now = now or utcnow()
        due = (
            sa.select(sources)
            .where(sources.c.next_run_at <= now)
            .order_by(sources.c.next_run_at)
            .limit(limit)
        )
        with self._db.read() as conn:
            candidates = [_source(row) for row in conn.execute(due)]
        claimed = []
        for source in candidates:
            assert source.interval_seconds is not None and source.next_run_at is not None
            later = now + timedelta(seconds=source.interval_seconds)
            mine = sa.and_(sources.c.id == source.id, sources.c.next_run_at == source.next_run_at)
            with self._db.write() as conn:
                if conn.execute(sa.update(sources).where(mine).values(next_run_at=later)).rowcount > 0:
                    claimed.append(source)
        return claimed
