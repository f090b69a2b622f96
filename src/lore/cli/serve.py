"""`lore serve` and `lore migrate`."""

from __future__ import annotations

import sys
from contextlib import suppress
from functools import partial
from typing import Annotated

import typer
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from lore.cli.common import DataDir, err_console, settings_for
from lore.config import Settings
from lore.demo import demo_dir
from lore.registry import create_store
from lore.service import Lore

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
    given = {"data_dir": data_dir, "host": host, "port": port, "demo": demo or None}
    settings = Settings.for_server(**{name: value for name, value in given.items() if value is not None})
    if settings.serving.demo:
        with Lore.open(settings) as lore:
            report = lore.ingest_paths([demo_dir()], collection=DEMO_COLLECTION, sync=True)
            err_console.print(
                f"demo knowledge base: {report.added + report.updated + report.unchanged} articles"
            )
    else:
        migrate_store(settings)  # once, before the workers start: they open the store side by side
    run_server(settings, workers)


def run_server(settings: Settings, workers: int) -> None:
    """uvicorn serving the app built from `settings` in each of `workers` processes. The factory goes to every
    worker with its settings, pickled with uvicorn's config, so nothing is read back from the environment (for
    several workers `uvicorn.run` takes only an import string, hence its supervisor is called here).

    The port is bound before the address is printed, so a busy port fails first. Requests are read through
    `lore.api.framing`'s guarded protocol, and a shutdown waits `graceful_shutdown_seconds` for requests under
    way before cancelling them."""
    from lore.api.app import create_app  # FastAPI is imported to serve, not at every start of the CLI
    from lore.api.framing import http_protocol

    config = uvicorn.Config(
        partial(create_app, settings),
        factory=True,
        host=settings.serving.host,
        port=settings.serving.port,
        workers=workers,
        log_level="info",
        access_log=False,
        http=http_protocol(settings.serving),
        timeout_graceful_shutdown=settings.serving.graceful_shutdown_seconds,
    )
    with config.bind_socket() as sock:
        host, port = sock.getsockname()[:2]
        address = f"http://{host}:{port}"
        err_console.print(f"Lore on {address} · API docs at {address}/docs")
        if workers > 1:
            with suppress(
                KeyboardInterrupt
            ):  # as in uvicorn.run: Ctrl-C stops the server, without a traceback
                Multiprocess(config, sockets=[sock]).run()
            return
        server = uvicorn.Server(config)
        with suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


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
