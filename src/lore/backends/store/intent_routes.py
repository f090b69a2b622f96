"""`IntentRouteRecords`, the database's `intent_routes` repository: what a tenant's conversations do with a
question of each intent — search one collection, narrow it to tags, answer with a canned reply, or escalate
to a human. One rule per (tenant, intent); setting it again replaces it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lore.backends.store import refusing_unstorable
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import intent_routes
from lore.errors import NotFound
from lore.models import utcnow

if TYPE_CHECKING:
    from lore.backends.store.database import Database


@dataclass(frozen=True, slots=True)
class IntentRoute:
    tenant_id: str
    intent: str
    collection: str | None
    tags: list[str]
    reply: str | None
    escalate: bool
    updated_at: datetime


_COLUMNS = [intent_routes.c[f.name] for f in fields(IntentRoute)]


def _route(row: AnyRow) -> IntentRoute:
    return IntentRoute(**{column.name: getattr(row, column.name) for column in _COLUMNS})


def no_route(intent: str) -> NotFound:
    return NotFound(f"no route for intent {intent!r}", details={"intent": intent})


class IntentRouteRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set(
        self,
        tenant_id: str,
        intent: str,
        *,
        collection: str | None = None,
        tags: list[str] | None = None,
        reply: str | None = None,
        escalate: bool = False,
    ) -> IntentRoute:
        """Create or replace the tenant's rule for `intent`."""
        values = {
            "collection": collection,
            "tags": list(tags or []),
            "reply": reply,
            "escalate": escalate,
            "updated_at": utcnow(),
        }
        statement = (
            self.db._insert(intent_routes)
            .values(tenant_id=tenant_id, intent=intent, **values)
            .on_conflict_do_update(
                index_elements=[intent_routes.c.tenant_id, intent_routes.c.intent], set_=values
            )
        )
        with refusing_unstorable(), self.db.write() as conn:
            conn.execute(statement)
        return IntentRoute(tenant_id, intent, **values)  # type: ignore[arg-type]

    def get(self, tenant_id: str, intent: str) -> IntentRoute | None:
        query = sa.select(*_COLUMNS).where(
            intent_routes.c.tenant_id == tenant_id, intent_routes.c.intent == intent
        )
        with self.db.read() as conn:
            row = conn.execute(query).one_or_none()
        return _route(row) if row is not None else None

    def list(self, tenant_id: str) -> list[IntentRoute]:
        query = (
            sa.select(*_COLUMNS)
            .where(intent_routes.c.tenant_id == tenant_id)
            .order_by(intent_routes.c.intent)
        )
        with self.db.read() as conn:
            return [_route(row) for row in conn.execute(query)]

    def delete(self, tenant_id: str, intent: str) -> None:
        statement = sa.delete(intent_routes).where(
            intent_routes.c.tenant_id == tenant_id, intent_routes.c.intent == intent
        )
        with self.db.write() as conn:
            if conn.execute(statement).rowcount == 0:
                raise no_route(intent)
