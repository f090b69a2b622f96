"""Alembic environment: migrates the connection the store passes in `config.attributes["connection"]`,
inside the store's own write transaction; `sqlalchemy.url` is the fallback for tooling such as autogenerate."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from lore.backends.store.schema import metadata

KEYWORD_TABLE_PREFIX = "chunks_fts"  # SQLite's FTS5 table and its shadow tables, created by raw DDL


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Keep dialect-specific tables that the Core metadata does not describe out of autogenerate."""
    return not (type_ == "table" and name is not None and name.startswith(KEYWORD_TABLE_PREFIX))


def run_migrations(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url", ""))
    with engine.begin() as connection:
        run_migrations(connection)
    engine.dispose()


main()
