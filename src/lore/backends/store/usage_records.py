"""`UsageRecords`, the database's `usage` repository: counters per tenant, UTC day, key and metric, and what a
tenant stores (documents, bytes of text) for its quotas.

Counters only ever grow, by upsert-add (`INSERT ... ON CONFLICT DO UPDATE SET value = value + excluded.value`
on SQLite and PostgreSQL alike), so increments from several processes add up without reading first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import sqlalchemy as sa

from lore.backends.store.schema import documents, usage

if TYPE_CHECKING:
    from lore.backends.store.database import Database

NO_KEY = ""  # key_id of what no key did (a user's or the operator's requests)


class UsageKey(NamedTuple):
    tenant_id: str
    day: str  # YYYY-MM-DD, UTC
    key_id: str
    metric: str


@dataclass(frozen=True, slots=True)
class UsageRow:
    day: str
    key_id: str
    metric: str
    value: int


@dataclass(frozen=True, slots=True)
class Stored:
    """What a tenant stores now: documents, and the UTF-8 bytes of their text."""

    documents: int
    bytes: int


class Holdings(NamedTuple):
    """How many documents a tenant stores, and how many chunks they make."""

    documents: int
    chunks: int


class UsageRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, increments: Mapping[UsageKey, int]) -> None:
        """Add each increment to its counter (creating it at that value), in one transaction."""
        if not increments:
            return
        rows = [{**key._asdict(), "value": value} for key, value in increments.items()]
        insert = self.db._insert(usage)
        statement = insert.on_conflict_do_update(
            index_elements=[usage.c.tenant_id, usage.c.day, usage.c.key_id, usage.c.metric],
            set_={"value": usage.c.value + insert.excluded.value},
        )
        with self.db.write() as conn:
            conn.execute(statement, rows)

    def report(self, tenant_id: str, since: str, until: str, key_id: str | None = None) -> list[UsageRow]:
        """The tenant's counters from day `since` to day `until` (both included), oldest day first."""
        query = sa.select(usage.c.day, usage.c.key_id, usage.c.metric, usage.c.value).where(
            usage.c.tenant_id == tenant_id, usage.c.day >= since, usage.c.day <= until
        )
        if key_id is not None:
            query = query.where(usage.c.key_id == key_id)
        query = query.order_by(usage.c.day, usage.c.key_id, usage.c.metric)
        with self.db.read() as conn:
            return [UsageRow(row.day, row.key_id, row.metric, int(row.value)) for row in conn.execute(query)]

    def day_totals(self, tenant_id: str, day: str) -> dict[str, int]:
        """Each metric of the tenant's day, summed over its keys."""
        query = (
            sa.select(usage.c.metric, sa.func.sum(usage.c.value))
            .where(usage.c.tenant_id == tenant_id, usage.c.day == day)
            .group_by(usage.c.metric)
        )
        with self.db.read() as conn:
            return {str(metric): int(total) for metric, total in conn.execute(query)}

    def tenants(self) -> list[str]:
        """Every tenant with recorded usage, by id."""
        query = sa.select(usage.c.tenant_id).distinct().order_by(usage.c.tenant_id)
        with self.db.read() as conn:
            return list(conn.execute(query).scalars())

    def stored(self, tenant_id: str) -> Stored:
        query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(self._text_bytes()), 0)).where(
            documents.c.tenant_id == tenant_id
        )
        with self.db.read() as conn:
            count, size = conn.execute(query).one()
        return Stored(int(count), int(size))

    def holdings(self) -> dict[str, Holdings]:
        """Documents and chunks of every tenant that has any, in one grouped read (what /metrics exports)."""
        query = sa.select(
            documents.c.tenant_id, sa.func.count(), sa.func.coalesce(sa.func.sum(documents.c.chunk_count), 0)
        ).group_by(documents.c.tenant_id)
        with self.db.read() as conn:
            return {str(t): Holdings(int(n), int(chunks)) for t, n, chunks in conn.execute(query)}

    def _text_bytes(self) -> sa.ColumnElement[int]:
        """The UTF-8 length of a document's text; PostgreSQL reads it from the value's header, untoasted."""
        if self.db.engine.dialect.name == "postgresql":
            return sa.func.octet_length(documents.c.text)
        return sa.func.length(sa.cast(documents.c.text, sa.LargeBinary()))


def metric_total(totals: Mapping[str, int], family: str) -> int:
    """A family's sum: `tokens` adds `tokens_in:<provider>` and `tokens_out:<provider>`; others are one metric."""
    if family == "tokens":
        return sum(v for name, v in totals.items() if name.startswith(("tokens_in:", "tokens_out:")))
    return totals.get(family, 0)


def totals_of(rows: Sequence[UsageRow]) -> dict[str, int]:
    """Each metric summed over the rows."""
    summed: dict[str, int] = {}
    for row in rows:
        summed[row.metric] = summed.get(row.metric, 0) + row.value
    return summed
