"""Lore's database: `Database` (database.py) and its SQLite and PostgreSQL backends, one repository module
per concern (documents, change feed, vector source, keyword search, embedding versions, job and conversation
records), and the schema, queries and row conversions they share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from lore.errors import InvalidInput


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
