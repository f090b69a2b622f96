"""`lore serve` and `lore migrate`."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from lore.cli.common import DataDir, err_console, open_lore, settings_for
from lore.config import Settings
from lore.demo import demo_dir
from lore.registry import create_store

DEMO_COLLECTION = "demo"


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default $LORE_HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default $LORE_PORT or 8000).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="Load the bundled demo knowledge base first.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Serve the REST API (docs at /docs)."""
    if data_dir:
        os.environ["LORE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("LORE_KEYWORD_INDEX", "memory")  # a long-lived server amortises the build
    settings = settings_for(data_dir)
    if demo or settings.demo:
        with open_lore(data_dir) as lore:
            report = lore.ingest_paths([demo_dir()], collection=DEMO_COLLECTION, sync=True)
            err_console.print(
                f"demo knowledge base: {report.added + report.updated + report.unchanged} articles"
            )
    else:
        migrate_store(settings)  # once, before the workers start: they open the store side by side
    bind_host, bind_port = host or settings.host, port or settings.port
    err_console.print(
        f"Lore on http://{bind_host}:{bind_port} · API docs at http://{bind_host}:{bind_port}/docs"
    )
    uvicorn.run(
        "lore.api.app:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        log_level="info",
        access_log=False,
    )


def migrate(data_dir: DataDir = None) -> None:
    """Bring the store's schema to the newest version."""
    migrate_store(settings_for(data_dir))
    err_console.print("store is up to date")


def migrate_store(settings: Settings) -> None:
    """Migrate without opening the whole service (no model, no index): cheap enough to run before every start."""
    store = create_store(settings)
    try:
        store.migrate()
    finally:
        store.close()
