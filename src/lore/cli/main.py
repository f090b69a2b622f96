"""`lore`: one command per verb; each parses its options, calls the service and renders the result."""

from __future__ import annotations

import sys

import typer

from lore.cli import (
    adapters,
    ask,
    audit,
    backup,
    documents,
    evaluate,
    events,
    gaps,
    index,
    ingest,
    intents,
    jobs,
    keys,
    reembed,
    search,
    secrets,
    serve,
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
app.command("ingest")(ingest.ingest)
app.command("search")(search.search)
app.command("ask")(ask.ask)
app.command("reembed")(reembed.reembed)
app.command("serve")(serve.serve)
app.command("migrate")(serve.migrate)
app.command("worker")(worker.worker)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.command("usage")(usage.usage)
app.add_typer(evaluate.app, name="eval")
app.add_typer(index.app, name="index")
app.add_typer(documents.app, name="documents")
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


def main() -> None:
    """Entry point: domain errors become one clear line and exit code 2, never a traceback."""
    try:
        app()
    except LoreError as error:
        typer.secho(f"error [{error.code}]: {error.message}", err=True, fg="red")
        sys.exit(2)
