"""Store backends (SQLite, PostgreSQL) and what records beside the documents share: the store's engine."""

from __future__ import annotations

import sqlalchemy as sa

from lore.errors import Unavailable
from lore.interfaces import Store


def store_engine(store: Store) -> sa.Engine:
    """Job records and conversations live beside the documents: in the store's own database, through its
    pooled engine."""
    engine = getattr(store, "engine", None)
    if not isinstance(engine, sa.Engine):
        raise Unavailable(f"this feature needs a SQL store, not {type(store).__name__}")
    return engine
