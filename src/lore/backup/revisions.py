"""Schema revisions: an archive's rows are loaded at the revision that wrote them, then migrated forward, so an
archive from an older Lore restores through the same migrations an upgraded installation runs."""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lore.backup.errors import BackupUnsupported


def _config(conn: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("lore.migrations")).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = conn
    return config


def history() -> list[str]:
    """Every revision this Lore knows, oldest first."""
    script = ScriptDirectory.from_config(_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def current(conn: sa.Connection) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return MigrationContext.configure(conn).get_current_revision()


def check_known(revision: str | None, what: str) -> None:
    if revision is None or revision not in history():
        raise BackupUnsupported(
            f"{what} is at schema revision {revision!r}, unknown to this Lore (written by a newer version?)",
            details={"revision": revision, "known": history()},
        )


def move_to(conn: sa.Connection, revision: str) -> None:
    """Upgrade or downgrade the schema to `revision` inside the caller's transaction (downgrading is only
    done to an empty store, where it loses nothing)."""
    known = history()
    here = current(conn)
    if here == revision:
        return
    config = _config(conn)
    if here is None or known.index(here) < known.index(revision):
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


def head() -> str:
    return history()[-1]
