"""`lore`: one command per verb; each parses its options, calls the service and renders the result.

Adding a command: a module in `lore.cli` with a function (`app.command("name")(module.function)` below) or a
`typer.Typer` group (`app.add_typer(module.app, name="name")`). Every module is imported for `lore --help`, so
its top imports only typer, rich and Lore's light modules, and the command function imports the rest (the
store, the service, wire models, SDKs) when it runs: see `lore.cli.common`. `tests/cli/test_startup.py` fails
when `lore --help` imports a heavy module.

Exit codes: 0 done; 1 done in part (some files of an ingest failed, a job failed, an audit chain is broken);
2 not done (bad input, not found, a refused overwrite: one line `error [code]: message`).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from lore.cli import (
    adapters,
    ask,
    audit,
    backup,
    collections,
    conversations,
    documents,
    evaluate,
    events,
    gaps,
    index,
    ingest,
    intents,
    jobs,
    keys,
    mcp,
    reembed,
    search,
    secrets,
    serve,
    sources,
    sync,
    tenants,
    usage,
    users,
    worker,
)
from lore.errors import LoreError

app = typer.Typer(
    name="lore",
    help="Lore: self-hosted hybrid search and grounded answers over your own documents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"lore {version('lore')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Lore: self-hosted hybrid search and grounded answers over your own documents."""


app.command("ingest")(ingest.ingest)
app.command("sync")(sync.sync)
app.command("watch")(sync.watch)
app.command("search")(search.search)
app.command("ask")(ask.ask)
app.command("reembed")(reembed.reembed)
app.command("serve")(serve.serve)
app.command("migrate")(serve.migrate)
app.command("mcp")(mcp.mcp)
app.command("worker")(worker.worker)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.command("usage")(usage.usage)
app.add_typer(evaluate.app, name="eval")
app.add_typer(index.app, name="index")
app.add_typer(documents.app, name="documents")
app.add_typer(collections.app, name="collections")
app.add_typer(conversations.app, name="conversations")
app.add_typer(jobs.app, name="jobs")
app.add_typer(keys.app, name="keys")
app.add_typer(tenants.app, name="tenants")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(secrets.app, name="secrets")
app.add_typer(events.app, name="events")
app.add_typer(events.analytics_app, name="analytics")
app.add_typer(gaps.app, name="gaps")
app.add_typer(adapters.app, name="adapters")
app.add_typer(intents.app, name="intents")
app.add_typer(sources.app, name="sources")


def main() -> None:
    """Entry point: domain errors become one clear line and exit code 2, never a traceback; a reader that
    stops reading (`lore documents list | head`) ends the command quietly."""
    try:
        app()
    except LoreError as error:
        typer.secho(f"error [{error.code}]: {error.message}", err=True, fg="red")
        sys.exit(2)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more reaches the closed pipe
        sys.exit(1)
