"""`lore serve` and `lore migrate`."""

from __future__ import annotations

import sys
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from lore.cli.common import DataDir, err_console, settings_for
from lore.config import WILDCARD_BINDS, Settings
from lore.demo import demo_dir
from lore.errors import Forbidden, Unauthenticated
from lore.files import write_private
from lore.models import DEFAULT_TENANT
from lore.registry import create_store
from lore.security.keys import KeyRing, KeySpec
from lore.security.scopes import Scope
from lore.security.secrets import SecretBox
from lore.service import Lore

DEMO_COLLECTION = "demo"
DEMO_KEY_FILE = "demo-key"
WORKER_HEALTHCHECK_SECONDS = 60


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default $LORE_HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default $LORE_PORT or 8000).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="Load the bundled demo knowledge base first.")] = False,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(help="TLS certificate chain, PEM (default $LORE_SSL_CERTFILE): serve HTTPS."),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="Private key of the certificate, PEM (default $LORE_SSL_KEYFILE).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the REST API (docs at /docs)."""
    given = {
        "data_dir": data_dir,
        "host": host,
        "port": port,
        "demo": demo or None,
        "ssl_certfile": ssl_certfile,
        "ssl_keyfile": ssl_keyfile,
    }
    settings = Settings.for_server(**{name: value for name, value in given.items() if value is not None})
    check_tls_files(settings)
    SecretBox.from_settings(settings)  # no secret keys outside the embedded default: one line, no server
    if settings.serving.demo:
        with Lore.open(settings) as lore:
            report = lore.ingest_paths([demo_dir()], collection=DEMO_COLLECTION, sync=True)
            err_console.print(
                f"demo knowledge base: {report.added + report.updated + report.unchanged} articles"
            )
            key_file = demo_key(lore)
        err_console.print(
            f"demo API key in {key_file}: export LORE_KEY=$(cat {key_file}) and send "
            '-H "Authorization: Bearer $LORE_KEY"'
        )
    else:
        migrate_store(settings)  # once, before the workers start: they open the store side by side
    if settings.serving.host in WILDCARD_BINDS and not settings.http.allowed_hosts:
        err_console.print(
            "Only requests addressed to localhost, 127.0.0.1 or [::1] are answered: set LORE_ALLOWED_HOSTS "
            "to the host names clients use (docs/http.md)."
        )
    run_server(settings, workers)


def check_tls_files(settings: Settings) -> None:
    """A missing certificate or key is a usage error, said plainly, not a traceback from a worker."""
    for path in (settings.http.ssl_certfile, settings.http.ssl_keyfile):
        if path is not None and not path.is_file():
            err_console.print(f"TLS file not found: {path}")
            raise typer.Exit(2)


def demo_key(lore: Lore) -> Path:
    """The demo's key (every scope of the default tenant), kept in `<data dir>/demo-key` (mode 0600) and reused
    while it works, so the README's examples keep working across restarts with one exported variable."""
    path = lore.settings.storage.data_dir / DEMO_KEY_FILE
    ring = KeyRing(lore.store.api_keys, lore.store.tenants)
    if path.exists():
        with suppress(Unauthenticated, Forbidden):
            ring.authenticate(path.read_text().strip())
            return path
    _, token = ring.create(
        DEFAULT_TENANT, KeySpec(name="demo", scopes=frozenset(Scope)), created_by="operator"
    )
    write_private(path, token + "\n")
    return path


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
        server_header=False,  # what serves Lore is nobody's business
        ssl_certfile=settings.http.ssl_certfile,
        ssl_keyfile=settings.http.ssl_keyfile,
        # A worker answers the supervisor's pings from a thread; while it imports and loads its model on a
        # busy machine that can take longer than uvicorn's 5 s, and a worker killed then is restarted forever.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        http=http_protocol(settings.serving),
        timeout_graceful_shutdown=settings.serving.graceful_shutdown_seconds,
    )
    with config.bind_socket() as sock:
        host, port = sock.getsockname()[:2]
        scheme = "https" if settings.http.ssl_certfile else "http"
        address = f"{scheme}://{host}:{port}"
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
