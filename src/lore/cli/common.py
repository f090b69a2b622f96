"""Options every command shares, and how a command gets its service."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from lore.backends.store.database import Database
from lore.config import Settings
from lore.registry import create_store
from lore.service import Lore

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $LORE_DATA_DIR, else ./lore-data).", show_default=False
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
Collection = Annotated[str, typer.Option("--collection", "-c", help="Collection to use.")]
Collections = Annotated[
    list[str] | None, typer.Option("--collection", "-c", help="Only these collections (repeatable).")
]

console = Console()
err_console = Console(stderr=True)


def settings_for(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


@contextmanager
def open_lore(data_dir: Path | None) -> Iterator[Lore]:
    with Lore.open(settings_for(data_dir)) as lore:
        yield lore


def print_json(value: Any) -> None:
    """JSON-ready values only: objects the API also serves are dumped through their wire model first."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


@contextmanager
def open_store(data_dir: Path | None) -> Iterator[Database]:
    """The configured store alone, migrated: for commands that need no model or index."""
    db = create_store(settings_for(data_dir))
    try:
        db.migrate()
        yield db
    finally:
        db.close()
