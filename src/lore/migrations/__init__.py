"""Alembic migrations of the store, for every dialect; run them with `Store.migrate()` or `lore migrate`.

`head_revision()` reads the newest revision from the migration files' `revision` and `down_revision` lines, so
a store already at the head is recognised without importing Alembic (which every command would otherwise pay).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*(?:"([^"]*)"|None)', re.MULTILINE)


@cache
def head_revision() -> str:
    """The one revision no other migration revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (Path(__file__).parent / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            if value:
                (revisions if name == "revision" else revised).add(value)
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()
