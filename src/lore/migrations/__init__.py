"""Alembic migrations of the store, for every dialect; run them with `Store.migrate()` or `lore migrate`."""
