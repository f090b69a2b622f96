"""Ids by their first characters, so the command line can take a unique prefix wherever it takes an id."""

from __future__ import annotations

import sqlalchemy as sa

from lore.backends.store.schema import api_keys, conversations, documents, jobs

TABLES: dict[str, sa.Table] = {
    "document": documents,
    "job": jobs,
    "key": api_keys,
    "conversation": conversations,
}


def ids_with_prefix(engine: sa.Engine, kind: str, prefix: str, tenant_id: str, limit: int) -> list[str]:
    """Up to `limit` ids of the tenant's records of `kind` that start with `prefix`, case included, in id
    order (a comparison of the id's first characters, not LIKE, which ignores case on SQLite and reads `_`
    as a wildcard)."""
    table = TABLES[kind]
    query = (
        sa.select(table.c.id)
        .where(table.c.tenant_id == tenant_id, sa.func.substr(table.c.id, 1, len(prefix)) == prefix)
        .order_by(table.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())
