"""`lore sources add|list|remove|sync`: stored sources, managed by the operator on the machine (so folder and
archive sources are allowed), synced by the workers on their schedule or here and now with `sync`.

lore sources add help https://help.example.com/sitemap.xml --collection help --every 3600
lore sources sync help
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lore.cli.common import Collection, DataDir, JsonFlag, console, open_lore, open_store, print_json
from lore.cli.tables import show, table, when
from lore.errors import NotFound
from lore.models import DEFAULT_COLLECTION, DEFAULT_TENANT
from lore.security.principal import operator

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.backends.store.source_records import SourceRecord

app = typer.Typer(help="Add, list, remove and sync stored sources.", no_args_is_help=True)

OPERATOR = operator(DEFAULT_TENANT).actor
TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The source's tenant.")]
Name = Annotated[str, typer.Argument(help="The source's name.")]


def _audit(
    db: Database, tenant: str, action: str, target: str, summary: dict[str, object] | None = None
) -> None:
    from lore.security.audit import AuditLog

    AuditLog(db.audit).record(tenant, OPERATOR, action, target=target, summary=summary)


def _named(db: Database, tenant: str, name: str) -> SourceRecord:
    source = db.sources.named(tenant, name)
    if source is None:
        raise NotFound(f"no source named {name!r}", details={"name": name})
    return source


@app.command("add")
def add(
    name: Name,
    location: Annotated[
        str, typer.Argument(help="A folder, an http(s) URL (page or sitemap.xml), or a .zip.")
    ],
    collection: Collection = DEFAULT_COLLECTION,
    every: Annotated[
        int | None, typer.Option("--every", help="Sync every this many seconds (>= 60).")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Default: told by LOCATION.")] = None,
    tenant: TenantOption = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Store a source; with --every, the workers sync it on that schedule."""
    from lore.cli.sync import spec_for
    from lore.connectors.sources import NewSource, Sources
    from lore.wire.sources import SourceOut

    spec = spec_for(location, collection, kind, None)
    with open_lore(data_dir, create=True) as lore:
        new = NewSource(name, spec.kind, spec.location, collection, every)
        source = Sources(lore).create(tenant, new, local_allowed=True)
        _audit(
            lore.store, tenant, "source.created", source.id, {"kind": spec.kind, "location": spec.location}
        )
    if as_json:
        print_json(SourceOut.of(source).model_dump(mode="json"))
        return
    console.print(f"added source {source.name} ({source.id})")


@app.command("list")
def list_sources(
    tenant: TenantOption = DEFAULT_TENANT, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """The tenant's sources, newest first, with their last run."""
    from lore.wire.sources import SourceOut, SourcePage

    with open_store(data_dir) as db:
        items = [SourceOut.of(source) for source in db.sources.newest(tenant, 200, None).items]
    if as_json:
        print_json(SourcePage(items=items, next_cursor=None).model_dump(mode="json"))
        return
    grid = table(
        "name", "kind", "location", "collection", "every", "documents", "last run", flexible=("location",)
    )
    for s in items:
        every = f"{s.interval_seconds}s" if s.interval_seconds else "-"
        grid.add_row(s.name, s.kind, s.location, s.collection, every, str(s.documents), when(s.last_run_at))
    show(grid, console)


@app.command("remove")
def remove(name: Name, tenant: TenantOption = DEFAULT_TENANT, data_dir: DataDir = None) -> None:
    """Forget a source; the documents it wrote stay."""
    with open_store(data_dir) as db:
        source = _named(db, tenant, name)
        db.sources.delete(tenant, source.id)
        _audit(db, tenant, "source.deleted", source.id)
    console.print(f"removed source {name}")


@app.command("sync")
def sync_now(
    name: Name, tenant: TenantOption = DEFAULT_TENANT, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Sync a stored source here and now (exit 1 if some documents failed)."""
    from lore.cli.sync import show_report
    from lore.connectors.sources import Sources

    with open_lore(data_dir) as lore:
        source = _named(lore.store, tenant, name)
        report = Sources(lore).run(tenant, source.id)
    show_report(report, quiet=False, as_json=as_json)
    if report.failures:
        raise typer.Exit(1)
