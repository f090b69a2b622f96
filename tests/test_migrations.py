"""The head revision read from the migration files, which spares an up-to-date store an Alembic import, is the
head Alembic itself finds."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from lore.backends.store.sqlite import SqliteDatabase
from lore.migrations import head_revision


def test_the_head_revision_is_alembics() -> None:
    config = Config()
    config.set_main_option("script_location", str(resources.files("lore.migrations")))
    assert [head_revision()] == ScriptDirectory.from_config(config).get_heads()


def test_a_store_is_at_the_head_once_migrated(tmp_path: Path) -> None:
    db = SqliteDatabase.from_path(tmp_path / "lore.db")
    try:
        assert db.revision() is None
        db.migrate()
        assert db.revision() == head_revision()
        db.migrate()  # at the head: nothing to do
        assert db.revision() == head_revision()
    finally:
        db.close()
