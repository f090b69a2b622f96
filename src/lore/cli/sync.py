"""`lore sync SOURCE` and `lore watch FOLDER`: keep a collection equal to a folder, a website (a start page or
a sitemap.xml) or a help centre's export (.zip). Exits 0 when everything listed was indexed (or unchanged), 1
when some documents failed (the others are synced), 2 when the source could not be listed (nothing changed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from lore.cli.common import Collection, DataDir, JsonFlag, Quiet, err_console, open_lore, print_json
from lore.cli.progress import reporting
from lore.cli.tables import place
from lore.models import DEFAULT_COLLECTION

if TYPE_CHECKING:
    from lore.connectors import SourceSpec, SyncReport

Kind = Annotated[
    str | None,
    typer.Option("--kind", help="folder, website or archive (or a plug-in's); default: told by SOURCE."),
]
BaseUrl = Annotated[
    str | None,
    typer.Option("--base-url", help="An archive's pages are cited under this URL when they name none."),
]


def sync(
    source: Annotated[str, typer.Argument(help="A folder, an http(s) URL (page or sitemap.xml), or a .zip.")],
    collection: Collection = DEFAULT_COLLECTION,
    kind: Kind = None,
    base_url: BaseUrl = None,
    quiet: Quiet = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Make a collection equal to SOURCE: add and update what changed, remove what is gone."""
    from lore.connectors import Syncer

    spec = spec_for(source, collection, kind, base_url)
    with open_lore(data_dir, create=True) as lore, reporting(quiet or as_json) as report:
        report("syncing", 0.0, f"listing {spec.location}")
        done = Syncer(lore).run(
            spec, lambda p: report("syncing", p.work_done, f"{p.files_done}/{p.files_total}")
        )
        report("syncing", 1.0, f"{done.listed} listed")
    show_report(done, quiet=quiet, as_json=as_json)
    if done.failures:
        raise typer.Exit(1)


def watch(
    folder: Annotated[str, typer.Argument(help="The folder to keep in sync.")],
    collection: Collection = DEFAULT_COLLECTION,
    quiet: Quiet = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Sync a folder now and again whenever its files change, until interrupted (Ctrl-C)."""
    from lore.connectors import Syncer
    from lore.connectors.watch import watch as watching

    spec = spec_for(folder, collection, "folder", None)
    with open_lore(data_dir, create=True) as lore:
        watching(Syncer(lore), spec, lambda done: show_report(done, quiet=quiet, as_json=as_json))


def spec_for(source: str, collection: str, kind: str | None, base_url: str | None) -> SourceSpec:
    from lore.connectors import SourceSpec, kind_for

    kind = kind or kind_for(source)
    location = source if kind == "website" else str(Path(source).expanduser().resolve())
    options = {"base_url": base_url} if base_url else {}
    return SourceSpec(kind, location, collection, options=options)


def show_report(done: SyncReport, *, quiet: bool, as_json: bool) -> None:
    if as_json:
        print_json(done.to_json())
        return
    if not quiet:
        err_console.print(
            f"{done.listed} listed: {done.added} added, {done.updated} updated, {done.unchanged} unchanged, "
            f"{done.removed} removed · {done.chunks} chunks · {done.requests} requests in {done.seconds:.1f}s",
            highlight=False,
        )
    for failure in done.failures:
        err_console.print(
            f"[red]failed[/red] {escape(place(failure.source))}: {escape(failure.message)} "
            f"[dim]({failure.code})[/dim]",
            highlight=False,
        )
