"""Options every command shares, and how a command gets its settings, its store or its service.

Start-up: `lore --help` imports every command module, so a module of `lore.cli` imports at its top only typer,
rich and Lore's light modules (`lore.models`, `lore.errors`, `lore.names`, the `lore.cli` helpers); the store,
the service, the wire models and anything that loads a model or an SDK are imported inside the command that
uses them. `tests/cli/test_startup.py` fails when `lore --help` imports a heavy module.

A command that only reads never creates a data dir: run where there is none, it says so and exits 2
(`NotFound`), instead of creating an empty one and finding nothing in it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from lore.errors import NotFound

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.config import Settings
    from lore.service import Lore

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $LORE_DATA_DIR, else ./lore-data).", show_default=False
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress; failures and errors only.")]
Collection = Annotated[str, typer.Option("--collection", "-c", help="Collection to use.")]
Collections = Annotated[
    list[str] | None, typer.Option("--collection", "-c", help="Only these collections (repeatable).")
]


def _width(stream: Any) -> int | None:
    """The terminal's width; piped output is not cut to 80 columns (what rich assumes without a terminal)
    unless COLUMNS asks for a width."""
    return None if stream.isatty() or "COLUMNS" in os.environ else PIPED_WIDTH


PIPED_WIDTH = 1000
console = Console(width=_width(sys.stdout))
err_console = Console(stderr=True, width=_width(sys.stderr))


def settings_for(data_dir: Path | None) -> Settings:
    from lore.config import Settings

    return Settings(data_dir=data_dir) if data_dir else Settings()


def check_data_dir(settings: Settings, *, create: bool) -> None:
    """On the embedded store, a data dir without a store is refused (`create` False) or announced as new."""
    storage = settings.storage
    if storage.database_url is not None or (storage.data_dir / "lore.db").exists():
        return
    where = storage.data_dir.resolve()
    if not create:
        raise NotFound(
            f"no Lore data in {where}: `lore ingest PATH` starts a knowledge base there, or point --data-dir "
            "or LORE_DATA_DIR at an existing one",
            details={"data_dir": str(where)},
        )
    err_console.print(f"new data dir: {where}", style="dim", highlight=False)


@contextmanager
def open_lore(data_dir: Path | None, *, create: bool = False) -> Iterator[Lore]:
    """The whole service (model, indexes): for commands that embed or search."""
    from lore.service import Lore

    settings = settings_for(data_dir)
    check_data_dir(settings, create=create)
    with Lore.open(settings) as lore:
        yield lore


@contextmanager
def open_store(data_dir: Path | None, *, create: bool = False) -> Iterator[Database]:
    """The configured store alone, migrated: for commands that need no model or index."""
    from lore.registry import create_store

    settings = settings_for(data_dir)
    check_data_dir(settings, create=create)
    db = create_store(settings)
    try:
        db.migrate()
        yield db
    finally:
        db.close()


def print_json(value: Any) -> None:
    """JSON-ready values only: objects the API also serves are dumped through their wire model first."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
