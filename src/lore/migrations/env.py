"""Alembic environment: migrates the connection the store passes in `config.attributes["connection"]`,
inside the store's own write transaction; `sqlalchemy.url` is the fallback for tooling such as autogenerate."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from lore.backends.store.schema import metadata

# Tables the Core metadata does not describe: the keyword index (SQLite's FTS5 table and its shadow tables, the
# PostgreSQL tsvector tables; raw DDL in the migrations), the pgvector index and the job queue's own tables (both
# created at run time by their backends).
UNMANAGED_TABLE_PREFIXES = ("chunks_fts", "pgvector_", "lore_queue")


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Keep tables that migrations do not manage out of autogenerate."""
    return not (type_ == "table" and name is not None and name.startswith(UNMANAGED_TABLE_PREFIXES))


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
