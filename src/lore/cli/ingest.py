"""`lore ingest PATH...`: parse, chunk, embed and index files and folders, with progress per file and per
embedding step. Exits 0 when every file was indexed (or unchanged), 1 when some failed (the others are
indexed), 2 when nothing could start (a URL, a bad collection name)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from lore.cli.common import Collection, DataDir, JsonFlag, Quiet, err_console, open_lore, print_json
from lore.cli.progress import reporting
from lore.cli.tables import place
from lore.errors import InvalidInput
from lore.models import DEFAULT_COLLECTION

if TYPE_CHECKING:
    from lore.cli.progress import Reporter
    from lore.core.ingest import IngestReport, Progress

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files or folders (txt, md, html, pdf, docx).")],
    collection: Collection = DEFAULT_COLLECTION,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Tag every document (repeatable).")
    ] = None,
    sync: Annotated[bool, typer.Option("--sync", help="Remove documents whose files are gone.")] = False,
    quiet: Quiet = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Index files and folders; unchanged files are skipped, files of other types in folders too."""
    files = [_local(path) for path in paths]
    with open_lore(data_dir, create=True) as lore:
        if collection not in {info.name for info in lore.list_collections()}:
            err_console.print(f"new collection: {collection}", style="dim", highlight=False)
        with reporting(quiet or as_json) as report:
            report("ingesting", 0.0, "counting files")
            done = lore.ingest_paths(
                files, collection=collection, tags=tag or [], sync=sync, on_progress=_shown(report)
            )
            report("ingesting", 1.0, f"{done.files}/{done.files} files · {done.chunks} chunks")
    if as_json:
        print_json(report_dict(done))
    else:
        render(done, quiet=quiet)
    if done.failures:
        raise typer.Exit(1)


def _local(given: str) -> Path:
    if _URL.match(given):
        raise InvalidInput(
            f"{given} is a URL: `lore ingest` reads files and folders. Download it first "
            "(`curl -o page.html URL`) and ingest the file.",
            details={"path": given},
        )
    return Path(given)


def _shown(report: Reporter) -> Callable[[Progress], None]:
    def on_progress(p: Progress) -> None:
        rate = max(p.chunks, p.embedded) / p.elapsed if p.elapsed else 0.0
        detail = f"{p.files_done}/{p.files_total} files · {p.chunks} chunks · {rate:.1f} chunks/s"
        name = f" · {Path(p.source).name}" if p.source else ""
        report("ingesting", p.work_done, detail + name)

    return on_progress


def report_dict(report: IngestReport) -> dict[str, object]:
    """The ingest report's JSON: what the CLI and the demo load print."""
    return {
        "files": report.files,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "chunks": report.chunks,
        "embedded": report.embedded,
        "seconds": round(report.seconds, 3),
        "failures": [f.to_json() for f in report.failures],
        "skipped": [f.to_json() for f in report.skipped],
    }


def render(report: IngestReport, *, quiet: bool = False) -> None:
    if not quiet:
        err_console.print(
            f"{report.files} files: {report.added} added, {report.updated} updated, {report.unchanged} "
            f"unchanged, {report.removed} removed · {report.chunks} chunks ({report.embedded} embedded) in "
            f"{report.seconds:.1f}s",
            highlight=False,
        )
    if report.skipped and not quiet:
        kinds = Counter(Path(f.source).suffix.lower() or "(no extension)" for f in report.skipped)
        listed = ", ".join(f"{kind} ×{count}" for kind, count in kinds.most_common())
        err_console.print(f"[dim]skipped {len(report.skipped)} files of other types: {listed}[/dim]")
    for failure in report.failures:
        err_console.print(
            f"[red]failed[/red] {escape(place(failure.source))}: {escape(failure.message)} "
            f"[dim]({failure.code})[/dim]",
            highlight=False,
        )
