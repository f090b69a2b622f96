"""`WebhookRecords`, the database's `webhooks` repository: tenants' endpoints (their signing secrets as
ciphertext only) and the log of every delivery, each attempt's outcome written by a conditional UPDATE so that
a delivery run twice (at least once) records sensibly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lore.backends.store.paging import newest_first, page
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import webhook_deliveries, webhooks
from lore.errors import NotFound
from lore.models import Page, utcnow

if TYPE_CHECKING:
    from lore.backends.store.database import Database


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    id: str
    tenant_id: str
    url: str
    description: str
    events: list[str]
    collections: list[str] | None
    enabled: bool
    secret: str  # ciphertext
    previous_secret: str | None  # ciphertext
    previous_until: datetime | None
    failures: int
    failing_since: datetime | None
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: str
    tenant_id: str
    webhook_id: str
    event_id: str
    event_type: str
    payload: str
    state: str
    attempts: int
    status_code: int | None
    latency_ms: float | None
    error: str | None
    next_attempt_at: datetime | None
    job_id: str | None
    created_at: datetime
    delivered_at: datetime | None


def _webhook(row: AnyRow) -> WebhookRecord:
    values = row._mapping
    return WebhookRecord(**{f.name: values[f.name] for f in fields(WebhookRecord)})


def _delivery(row: AnyRow) -> DeliveryRecord:
    values = row._mapping
    return DeliveryRecord(**{f.name: values[f.name] for f in fields(DeliveryRecord)})


def _one(tenant_id: str, webhook_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(webhooks.c.tenant_id == tenant_id, webhooks.c.id == webhook_id)


class WebhookRecords:
    def __init__(self, db: Database) -> None:
        self._db = db

    def insert(self, values: Mapping[str, Any]) -> WebhookRecord:
        now = utcnow()
        row = {"failures": 0, "enabled": True, "created_at": now, "updated_at": now, **values}
        try:
            with self._db.write() as conn:
                conn.execute(sa.insert(webhooks).values(row))
        except sa.exc.IntegrityError:  # the tenant's row is missing
            raise NotFound(f"no tenant {row['tenant_id']!r}", details={"tenant": row["tenant_id"]}) from None
        found = self.get(row["tenant_id"], row["id"])
        assert found is not None
        return found

    def get(self, tenant_id: str, webhook_id: str) -> WebhookRecord | None:
        with self._db.read() as conn:
            row = conn.execute(sa.select(webhooks).where(_one(tenant_id, webhook_id))).first()
        return _webhook(row) if row is not None else None

    def newest(self, tenant_id: str, limit: int, cursor: str | None) -> Page[WebhookRecord]:
        query = newest_first(
            sa.select(webhooks).where(webhooks.c.tenant_id == tenant_id), webhooks, limit, cursor
        )
        with self._db.read() as conn:
            return page([_webhook(row) for row in conn.execute(query)], limit)

    def enabled(self, tenant_id: str) -> list[WebhookRecord]:
        """The tenant's endpoints that receive events: whom an event may go to."""
        query = sa.select(webhooks).where(webhooks.c.tenant_id == tenant_id, webhooks.c.enabled.is_(True))
        with self._db.read() as conn:
            return [_webhook(row) for row in conn.execute(query)]

    def update(self, tenant_id: str, webhook_id: str, values: Mapping[str, Any]) -> WebhookRecord | None:
        statement = sa.update(webhooks).where(_one(tenant_id, webhook_id))
        with self._db.write() as conn:
            changed = conn.execute(statement.values({**values, "updated_at": utcnow()})).rowcount
        return self.get(tenant_id, webhook_id) if changed else None

    def delete(self, tenant_id: str, webhook_id: str) -> bool:
        with self._db.write() as conn:
            conn.execute(
                sa.delete(webhook_deliveries).where(
                    webhook_deliveries.c.tenant_id == tenant_id, webhook_deliveries.c.webhook_id == webhook_id
                )
            )
            return conn.execute(sa.delete(webhooks).where(_one(tenant_id, webhook_id))).rowcount > 0

    def add_delivery(self, values: Mapping[str, Any]) -> DeliveryRecord:
        row = {"state": "pending", "attempts": 0, "created_at": utcnow(), **values}
        with self._db.write() as conn:
            conn.execute(sa.insert(webhook_deliveries).values(row))
        found = self.delivery(row["tenant_id"], row["id"])
        assert found is not None
        return found

    def delivery(self, tenant_id: str, delivery_id: str) -> DeliveryRecord | None:
        query = sa.select(webhook_deliveries).where(
            webhook_deliveries.c.tenant_id == tenant_id, webhook_deliveries.c.id == delivery_id
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return _delivery(row) if row is not None else None

    def deliveries(
        self, tenant_id: str, webhook_id: str, limit: int, cursor: str | None
    ) -> Page[DeliveryRecord]:
        mine = sa.select(webhook_deliveries).where(
            webhook_deliveries.c.tenant_id == tenant_id, webhook_deliveries.c.webhook_id == webhook_id
        )
        query = newest_first(mine, webhook_deliveries, limit, cursor)
        with self._db.read() as conn:
            return page([_delivery(row) for row in conn.execute(query)], limit)

    def set_delivery(self, delivery_id: str, values: Mapping[str, Any]) -> None:
        statement = sa.update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
        with self._db.write() as conn:
            conn.execute(statement.values(values))

    def attempted(
        self, delivery: DeliveryRecord, values: Mapping[str, Any], succeeded: bool
    ) -> WebhookRecord | None:
        """Record one attempt of a pending `delivery` (its outcome in `values`) and the endpoint's run of
        failures, in one transaction; the endpoint as it now stands (None: deleted meanwhile). An attempt finishing after another worker
        settled the delivery (a stalled worker's, at least once) changes nothing."""
        now = utcnow()
        pending = sa.and_(webhook_deliveries.c.id == delivery.id, webhook_deliveries.c.state == "pending")
        attempt = sa.update(webhook_deliveries).where(pending)
        endpoint = sa.update(webhooks).where(webhooks.c.id == delivery.webhook_id)
        run = (
            {"failures": 0, "failing_since": None}
            if succeeded
            else {
                "failures": webhooks.c.failures + 1,
                "failing_since": sa.func.coalesce(webhooks.c.failing_since, now),
            }
        )
        with self._db.write() as conn:
            counted = conn.execute(attempt.values({**values, "attempts": webhook_deliveries.c.attempts + 1}))
            if counted.rowcount > 0:
                conn.execute(endpoint.values(run))
            row = conn.execute(sa.select(webhooks).where(webhooks.c.id == delivery.webhook_id)).first()
        return _webhook(row) if row is not None else None

    def disable(self, webhook_id: str, reason: str) -> bool:
        """Switch an enabled endpoint off; True when this call did (so it is reported once)."""
        where = sa.and_(webhooks.c.id == webhook_id, webhooks.c.enabled.is_(True))
        values = {"enabled": False, "disabled_reason": reason, "updated_at": utcnow()}
        with self._db.write() as conn:
            return conn.execute(sa.update(webhooks).where(where).values(values)).rowcount > 0
