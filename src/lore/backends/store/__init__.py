"""Store backends (SQLite, PostgreSQL) and what records beside the documents share: the store's engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from lore.errors import InvalidInput, Unavailable
from lore.interfaces import Store


def store_engine(store: Store) -> sa.Engine:
    """Job records and conversations live beside the documents: in the store's own database, through its
    pooled engine."""
    engine = getattr(store, "engine", None)
    if not isinstance(engine, sa.Engine):
        raise Unavailable(f"this feature needs a SQL store, not {type(store).__name__}")
    return engine


@contextmanager
def refusing_unstorable() -> Iterator[None]:
    """Values PostgreSQL cannot hold (NUL characters in text or JSON, numbers out of range) are bad input from
    the caller, not a server fault: SQLite would have stored them."""
    try:
        yield
    except sa.exc.DataError as error:
        raise InvalidInput(
            "a value cannot be stored in PostgreSQL", details={"reason": str(error.orig).strip()}
        ) from error
