"""`AuditRecords`, the database's `audit` repository: each tenant's append-only, hash-chained audit log.

Appends of one tenant are serialised, so that `seq` counts 1, 2, 3 ... without gaps and each record can carry
the hash of the one before: on SQLite under the writer lock (`BEGIN IMMEDIATE`, which other processes wait on
too), on PostgreSQL under a transaction-level advisory lock on the tenant (tenants do not wait on each other,
nor on document writes). The unique (tenant_id, seq) constraint is the backstop: an append that raced anyway
fails on it and is retried on the new last record. What a record holds and how it is hashed is
`lore.security.audit`'s business; this module stores, pages and streams records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lore.backends.store import codec, paging, refusing_unstorable
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import audit_log
from lore.models import Page

if TYPE_CHECKING:
    from lore.backends.store.database import Database

AUDIT_LOCK = (
    0x61756474  # "audt": the first key of the per-tenant advisory locks (the second hashes the tenant)
)
APPEND_ATTEMPTS = 20
BATCH = 1000


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One record as stored: `hash` is sha256 over the other fields, `prev_hash` included."""

    tenant_id: str
    seq: int
    at: datetime
    actor: str
    action: str
    target: str | None
    summary: dict[str, Any]
    request_id: str | None
    client: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What a listing or an export narrows to: exact actor, action and target, and `since <= at < until`."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        found = [
            audit_log.c[name] == value
            for name, value in (("actor", self.actor), ("action", self.action), ("target", self.target))
            if value is not None
        ]
        if self.since is not None:
            found.append(audit_log.c.at >= self.since)
        if self.until is not None:
            found.append(audit_log.c.at < self.until)
        return found


# Builds the record to append from its seq and the hash of the tenant's last record (None: it is the first).
MakeRecord = Callable[[int, str | None], AuditRecord]
_NAMES = tuple(field.name for field in fields(AuditRecord))
_FIELDS = [audit_log.c[name] for name in _NAMES]  # every column but the row id


def _record(row: AnyRow) -> AuditRecord:
    values = row._mapping
    return AuditRecord(**{name: values[name] for name in _NAMES})


class AuditRecords:
    """Append records to a tenant's chain; read them by page (newest first) or in chain order."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def append(self, tenant_id: str, make: MakeRecord) -> AuditRecord:
        for _ in range(APPEND_ATTEMPTS):
            try:
                with self._serialised(tenant_id) as conn:
                    last = conn.execute(
                        sa.select(audit_log.c.seq, audit_log.c.hash)
                        .where(audit_log.c.tenant_id == tenant_id)
                        .order_by(audit_log.c.seq.desc())
                        .limit(1)
                    ).first()
                    record = make(last.seq + 1 if last else 1, last.hash if last else None)
                    conn.execute(sa.insert(audit_log).values(asdict(record)))
                    return record
            except sa.exc.IntegrityError:
                continue  # another writer took this seq first: chain onto its record instead
        raise RuntimeError(f"could not append to the audit log of {tenant_id!r}: too many concurrent writers")

    @contextmanager
    def _serialised(self, tenant_id: str) -> Iterator[sa.Connection]:
        """A write transaction that no other append to the tenant's log runs alongside."""
        if self._db.engine.dialect.name == "sqlite":
            with self._db.write() as conn:
                yield conn
            return
        with refusing_unstorable(), self._db.engine.begin() as conn:
            lock = sa.func.pg_advisory_xact_lock(AUDIT_LOCK, sa.func.hashtext(tenant_id))
            conn.execute(sa.select(lock))
            yield conn

    def tenants(self) -> list[str]:
        """Every tenant that has a log."""
        query = sa.select(audit_log.c.tenant_id).distinct().order_by(audit_log.c.tenant_id)
        with self._db.read() as conn:
            return list(conn.execute(query).scalars())

    def page(
        self, tenant_id: str, limit: int, cursor: str | None = None, filters: AuditFilters | None = None
    ) -> Page[AuditRecord]:
        """Newest first; `cursor` is the `next_cursor` of the previous page."""
        paging.check_limit(limit)
        query = sa.select(*_FIELDS).where(audit_log.c.tenant_id == tenant_id)
        query = query.where(*(filters or AuditFilters()).conditions())
        if cursor is not None:
            query = query.where(audit_log.c.seq < codec.decode_number_cursor(cursor))
        query = query.order_by(audit_log.c.tenant_id, audit_log.c.seq.desc()).limit(limit + 1)
        with self._db.read() as conn:
            items = [_record(row) for row in conn.execute(query)]
        return paging.page(items, limit, lambda last: codec.encode_number_cursor(last.seq))

    def chain(self, tenant_id: str, filters: AuditFilters | None = None) -> Iterator[AuditRecord]:
        """The tenant's records oldest first, read a batch at a time (no transaction held between batches)."""
        conditions = (filters or AuditFilters()).conditions()
        after = 0
        while True:
            query = (
                sa.select(*_FIELDS)
                .where(audit_log.c.tenant_id == tenant_id, audit_log.c.seq > after, *conditions)
                .order_by(audit_log.c.tenant_id, audit_log.c.seq)
                .limit(BATCH)
            )
            with self._db.read() as conn:
                batch = [_record(row) for row in conn.execute(query)]
            yield from batch
            if len(batch) < BATCH:
                return
            after = batch[-1].seq
