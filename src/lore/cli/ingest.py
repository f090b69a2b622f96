"""`lore ingest PATH...`: parse, chunk, embed and index files with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lore.cli.common import Collection, DataDir, JsonFlag, err_console, open_lore, print_json
from lore.core.ingest import IngestReport
from lore.core.ingest import Progress as IngestProgress
from lore.models import DEFAULT_COLLECTION


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (txt, md, html, pdf, docx).")],
    collection: Collection = DEFAULT_COLLECTION,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Tag every document (repeatable).")
    ] = None,
    sync: Annotated[bool, typer.Option("--sync", help="Remove documents whose files are gone.")] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Index files and folders; unchanged files are skipped."""
    with open_lore(data_dir) as lore, _progress_bar(disable=as_json) as bar:
        task = bar.add_task("ingesting", total=None, chunks=0, rate=0.0)

        def on_progress(p: IngestProgress) -> None:
            rate = p.chunks / p.elapsed if p.elapsed else 0.0
            bar.update(task, completed=p.files_done, total=p.files_total, chunks=p.chunks, rate=rate)

        report = lore.ingest_paths(
            paths, collection=collection, tags=tag or [], sync=sync, on_progress=on_progress
        )
        bar.update(task, completed=report.files, total=report.files)
    if as_json:
        print_json(_report_dict(report))
    else:
        _render(report)
    if report.failures and not (report.added or report.updated or report.unchanged):
        raise typer.Exit(1)


def _progress_bar(disable: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[chunks]} chunks · {task.fields[rate]:.1f} chunks/s"),
        TimeElapsedColumn(),
        console=err_console,
        disable=disable,
        transient=False,
    )


def _report_dict(report: IngestReport) -> dict[str, object]:
    return {
        "files": report.files,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "chunks": report.chunks,
        "embedded": report.embedded,
        "seconds": round(report.seconds, 3),
        "failures": [{"source": f.source, "code": f.code, "message": f.message} for f in report.failures],
    }


def _render(report: IngestReport) -> None:
    err_console.print(
        f"{report.files} files: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.removed} removed · {report.chunks} chunks ({report.embedded} embedded) in {report.seconds:.1f}s"
    )
    for failure in report.failures:
        err_console.print(
            f"[red]failed[/red] {failure.source}: {failure.message} [dim]({failure.code})[/dim]"
        )
