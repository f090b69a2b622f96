"""`lore serve` and `lore migrate`.

`lore serve` binds its port first, so a busy port fails at once with one clear line (exit 2); then it loads the
demo (with `--demo`, showing its progress), keeps the local keys (`demo-key` with the demo, `cli-key` on the
embedded store: see `lore.cli.remote`), prints its address, writes `server.json` for the command line, and
serves until stopped, logging one line per request (`LORE_ACCESS_LOG`) and every error.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lore.cli.common import DataDir, JsonFlag, err_console, settings_for
from lore.errors import Conflict

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.config import Settings
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
    """Serve the REST API (docs at /docs), logging each request and every error to stderr."""
    from lore.config import WILDCARD_BINDS, Settings
    from lore.security.secrets import SecretBox
    from lore.tracing import check_installed

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
    check_installed(settings.tracing)  # nor tracing without its extra
    with bind(settings) as sock:
        prepare(settings)
        if settings.serving.host in WILDCARD_BINDS and not settings.http.allowed_hosts:
            err_console.print(
                "Only requests addressed to localhost, 127.0.0.1 or [::1] are answered: set LORE_ALLOWED_HOSTS "
                "to the host names clients use (docs/http.md)."
            )
        run_server(settings, workers, sock)


def check_tls_files(settings: Settings) -> None:
    """A missing certificate or key is a usage error, said plainly, not a traceback from a worker."""
    for path in (settings.http.ssl_certfile, settings.http.ssl_keyfile):
        if path is not None and not path.is_file():
            err_console.print(f"TLS file not found: {path}")
            raise typer.Exit(2)


def bind(settings: Settings) -> socket.socket:
    """The server's socket, bound (uvicorn listens on it once the app has started); a port in use is a
    `Conflict` that says what to do."""
    host, port = settings.serving.host, settings.serving.port
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as error:
        sock.close()
        raise Conflict(
            f"cannot listen on {host}:{port}: {error.strerror or error}. Is another server using it? Choose "
            "another port with --port or LORE_PORT.",
            details={"host": host, "port": port},
        ) from None
    sock.set_inheritable(True)
    return sock


def prepare(settings: Settings) -> None:
    """The store migrated (once, before the workers start: they open it side by side), the demo loaded if
    asked, and the local keys kept."""
    from lore.cli.common import check_data_dir
    from lore.registry import create_store

    check_data_dir(settings, create=True)
    if settings.serving.demo:
        load_demo(settings)
    store = create_store(settings)
    try:
        store.migrate()
        if settings.storage.database_url is None:  # the data dir holds the store: a key there adds nothing
            from lore.cli.remote import KEY_FILE, KEY_SCOPES

            keep_key(store, settings.storage.data_dir / KEY_FILE, "cli", KEY_SCOPES)
    finally:
        store.close()


def load_demo(settings: Settings) -> None:
    """The bundled articles into the `demo` collection (only what changed since the last start), with their
    progress, and the demo's key."""
    from lore.cli.ingest import render
    from lore.cli.progress import reporting
    from lore.core.ingest import Progress
    from lore.demo import demo_dir
    from lore.service import Lore

    with Lore.open(settings) as lore, reporting(quiet=False) as report:

        def on_progress(p: Progress) -> None:
            detail = f"{p.files_done}/{p.files_total} articles · {p.chunks} chunks"
            report("loading the demo", p.work_done, detail)

        done = lore.ingest_paths([demo_dir()], collection=DEMO_COLLECTION, sync=True, on_progress=on_progress)
        report("loading the demo", 1.0, f"{done.files}/{done.files} articles · {done.chunks} chunks")
        key_file = demo_key(lore)
    render(done, quiet=True)
    err_console.print(f"demo knowledge base: {done.added + done.updated + done.unchanged} articles")
    err_console.print(
        f"demo API key in {key_file}: export LORE_KEY=$(cat {key_file}) and send "
        '-H "Authorization: Bearer $LORE_KEY"',
        highlight=False,
    )


def demo_key(lore: Lore) -> Path:
    """The demo's key (every scope of the default tenant), kept in `<data dir>/demo-key` (mode 0600) and reused
    while it works, so the README's examples keep working across restarts with one exported variable."""
    from lore.security.scopes import Scope

    return keep_key(lore.store, lore.settings.storage.data_dir / DEMO_KEY_FILE, "demo", set(Scope))


def keep_key(store: Database, path: Path, name: str, scopes: Iterable[str]) -> Path:
    """A key of the default tenant kept in `path` (mode 0600): the one there while it works, else a new one."""
    from lore.errors import Forbidden, Unauthenticated
    from lore.files import write_private
    from lore.models import DEFAULT_TENANT
    from lore.security.keys import KeyRing, KeySpec
    from lore.security.scopes import Scope

    ring = KeyRing(store.api_keys, store.tenants)
    if path.exists():
        with suppress(Unauthenticated, Forbidden):
            ring.authenticate(path.read_text().strip())
            return path
    _, token = ring.create(
        DEFAULT_TENANT, KeySpec(name=name, scopes=frozenset(Scope(s) for s in scopes)), created_by="operator"
    )
    write_private(path, token + "\n")
    return path


def run_server(settings: Settings, workers: int, sock: socket.socket) -> None:
    """uvicorn serving the app built from `settings` on `sock` in each of `workers` processes. The factory goes
    to every worker with its settings, pickled with uvicorn's config, so nothing is read back from the
    environment (for several workers `uvicorn.run` takes only an import string, hence its supervisor is called
    here).

    Requests are read through `lore.api.framing`'s guarded protocol, and a shutdown waits
    `graceful_shutdown_seconds` for requests under way before cancelling them."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from lore.api.app import create_app  # FastAPI is imported to serve, not at every start of the CLI
    from lore.api.framing import http_protocol
    from lore.cli.remote import remove_state, write_state
    from lore.logs import dict_config

    config = uvicorn.Config(
        partial(create_app, settings),
        factory=True,
        host=settings.serving.host,
        port=settings.serving.port,
        workers=workers,
        log_config=dict_config(settings.logging),  # JSON lines or readable ones: lore.logs
        access_log=False,  # Lore writes its own (lore.api.access_log)
        server_header=False,  # what serves Lore is nobody's business
        ssl_certfile=settings.http.ssl_certfile,
        ssl_keyfile=settings.http.ssl_keyfile,
        # A worker answers the supervisor's pings from a thread; while it imports and loads its model on a
        # busy machine that can take longer than uvicorn's 5 s, and a worker killed then is restarted forever.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        http=http_protocol(settings.serving),
        timeout_graceful_shutdown=settings.serving.graceful_shutdown_seconds,
    )
    address = served_address(settings, sock)
    err_console.print(f"Lore on {address} · API docs at {address}/docs", highlight=False)
    if not settings.http.ssl_certfile:
        write_state(settings, local_address(settings, sock))
    try:
        if workers > 1:
            # as in uvicorn.run: Ctrl-C stops the server, without a traceback
            with shared_metrics(), suppress(KeyboardInterrupt):
                Multiprocess(config, sockets=[sock]).run()
            return
        server = uvicorn.Server(config)
        with suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        remove_state(settings)
    if not server.started:
        sys.exit(STARTUP_FAILURE)


@contextmanager
def shared_metrics() -> Iterator[None]:
    """The workers keep their metrics in files of a fresh private folder (prometheus_client's multiprocess
    mode, `PROMETHEUS_MULTIPROC_DIR`), which `/metrics` adds up whichever worker answers. Named before the
    workers start (they read it when they import prometheus_client), removed with what is in it when the
    server stops; this process's environment is as it was afterwards."""
    import os
    import tempfile

    from lore.api.metrics import MULTIPROCESS_DIR

    before = os.environ.get(MULTIPROCESS_DIR)
    with tempfile.TemporaryDirectory(prefix="lore-metrics-") as folder:  # mode 0700
        os.environ[MULTIPROCESS_DIR] = folder
        try:
            yield
        finally:
            if before is None:
                del os.environ[MULTIPROCESS_DIR]
            else:
                os.environ[MULTIPROCESS_DIR] = before


def served_address(settings: Settings, sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if settings.http.ssl_certfile else 'http'}://{host}:{port}"


def local_address(settings: Settings, sock: socket.socket) -> str:
    """Where a client on this machine reaches the server: the loopback address for a wildcard bind."""
    from lore.config import WILDCARD_BINDS

    port = sock.getsockname()[1]
    if settings.serving.host in WILDCARD_BINDS:
        return f"http://{'[::1]' if sock.family == socket.AF_INET6 else '127.0.0.1'}:{port}"
    return served_address(settings, sock)


def migrate(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Bring the store's schema to the newest version."""
    from lore.cli.common import check_data_dir, print_json
    from lore.migrations import head_revision

    settings = settings_for(data_dir)
    check_data_dir(settings, create=True)
    migrate_store(settings)
    if as_json:
        print_json({"revision": head_revision()})
    else:
        err_console.print(f"store is up to date (revision {head_revision()})")


def migrate_store(settings: Settings) -> None:
    """Migrate without opening the whole service (no model, no index): cheap enough to run before every start."""
    from lore.registry import create_store

    store = create_store(settings)
    try:
        store.migrate()
    finally:
        store.close()
