"""`SqlChangeFeed`, the database's `changes` repository (`lore.interfaces.ChangeFeed`): the `changes` table,
which every chunk write appends to in its own transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from lore.backends.store import queries
from lore.backends.store.schema import changes
from lore.models import Change

if TYPE_CHECKING:
    from lore.backends.store.database import Database


class SqlChangeFeed:
    def __init__(self, db: Database) -> None:
        self._db = db

    def changes_since(self, seq: int, limit: int = 10_000) -> list[Change]:
        query = sa.select(changes).where(changes.c.seq > seq).order_by(changes.c.seq).limit(limit)
        with self._db.read() as conn:
            return [Change(row.seq, row.op, row.chunk_id, row.partition) for row in conn.execute(query)]

    def last_seq(self) -> int:
        with self._db.read() as conn:
            return int(conn.execute(queries.last_seq()).scalar_one())
