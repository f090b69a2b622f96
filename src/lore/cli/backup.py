"""`lore backup PATH` and `lore restore PATH`: a consistent archive of the store, and its restore into an
empty installation, with a progress bar per phase."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from lore.backup import BackupProgress, RestoreReport, create_backup, restore_backup
from lore.cli.common import DataDir, JsonFlag, err_console, print_json, settings_for
from lore.registry import create_store
from lore.wire.schemas import BackupCreated

ArchivePath = Annotated[Path, typer.Argument(help="The archive file (a tar).", show_default=False)]
_PHASES = {"read": "reading", "verify": "verifying", "load": "loading", "index": "indexing"}


def backup(path: ArchivePath, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Write a consistent snapshot of the store to PATH, while Lore keeps serving."""
    store = create_store(settings_for(data_dir))
    try:
        store.migrate()
        with _progress_bar(disable=as_json) as on_progress:
            report = create_backup(store, path, on_progress)
    finally:
        store.close()
    if as_json:
        # the API's shape, and where the archive is: the CLI writes it anywhere, the API only into its folder
        print_json({"path": str(report.path), **BackupCreated.of(report).model_dump(mode="json")})
    else:
        err_console.print(f"backup written: {report.path} ({_size(report.bytes)}) · {_rows(report.tables)}")


def restore(path: ArchivePath, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Restore the archive PATH into an empty installation and rebuild its indexes."""
    with _progress_bar(disable=as_json) as on_progress:
        report = restore_backup(settings_for(data_dir), path, on_progress)
    if as_json:
        print_json(restore_dict(report))
    else:
        err_console.print(
            f"restored {report.path} ({report.source_dialect}, revision {report.revision}) · "
            f"{_rows(report.tables)} · {report.vectors} vectors indexed in {report.seconds:.1f}s"
        )


def restore_dict(report: RestoreReport) -> dict[str, Any]:
    return {
        "path": str(report.path),
        "source_dialect": report.source_dialect,
        "revision": report.revision,
        "last_seq": report.last_seq,
        "tables": report.tables,
        "vectors": report.vectors,
        "seconds": round(report.seconds, 3),
    }


@contextmanager
def _progress_bar(disable: bool) -> Iterator[Any]:
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[table]}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=disable,
    )
    tasks: dict[str, TaskID] = {}

    def on_progress(p: BackupProgress) -> None:
        if p.phase not in tasks:
            tasks[p.phase] = bar.add_task(_PHASES[p.phase], total=p.total, table="")
        bar.update(tasks[p.phase], completed=p.done, total=p.total, table=p.table)

    with bar:
        yield on_progress


def _rows(tables: dict[str, int]) -> str:
    return ", ".join(f"{name} {rows}" for name, rows in tables.items() if rows) or "no rows"


def _size(size: float) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
