"""`lore backup PATH` and `lore restore PATH`: a consistent archive of the store, and its restore into an
empty installation, with progress per phase. An existing archive is replaced only with `--force`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lore.cli.common import DataDir, JsonFlag, Quiet, err_console, open_store, print_json, settings_for
from lore.cli.progress import reporting
from lore.errors import Conflict

if TYPE_CHECKING:
    from lore.backup import BackupProgress, RestoreReport
    from lore.cli.progress import Reporter

ArchivePath = Annotated[Path, typer.Argument(help="The archive file (a tar).", show_default=False)]
Force = Annotated[bool, typer.Option("--force", "-f", help="Replace the archive if it exists.")]
_PHASES = {"read": "reading", "verify": "verifying", "load": "loading", "index": "indexing"}


def backup(
    path: ArchivePath,
    force: Force = False,
    quiet: Quiet = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Write a consistent snapshot of the store to PATH, while Lore keeps serving."""
    if path.exists() and not path.is_dir() and not force:
        raise Conflict(f"{path} exists: pass --force to replace it", details={"path": str(path)})
    from lore.backup import create_backup
    from lore.wire.schemas import BackupCreated

    with open_store(data_dir) as store, reporting(quiet or as_json) as report:
        done = create_backup(store, path, _phases(report))
    if as_json:
        # the API's shape, and where the archive is: the CLI writes it anywhere, the API only into its folder
        print_json({"path": str(done.path), **BackupCreated.of(done).model_dump(mode="json")})
    elif not quiet:
        err_console.print(
            f"backup written: {done.path} ({_size(done.bytes)}) · {_rows(done.tables)}", highlight=False
        )


def restore(
    path: ArchivePath, quiet: Quiet = False, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Restore the archive PATH into an empty installation and rebuild its indexes."""
    from lore.backup import restore_backup

    with reporting(quiet or as_json) as report:
        done = restore_backup(settings_for(data_dir), path, _phases(report))
    if as_json:
        print_json(restore_dict(done))
    elif not quiet:
        err_console.print(
            f"restored {done.path} ({done.source_dialect}, revision {done.revision}) · "
            f"{_rows(done.tables)} · {done.vectors} vectors indexed in {done.seconds:.1f}s",
            highlight=False,
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


def _phases(report: Reporter) -> Any:
    def on_progress(p: BackupProgress) -> None:
        fraction = p.done / p.total if p.total else None
        report(_PHASES[p.phase], fraction, f"{p.done}/{p.total} rows · {p.table}" if p.total else p.table)

    return on_progress


def _rows(tables: dict[str, int]) -> str:
    return ", ".join(f"{name} {rows}" for name, rows in tables.items() if rows) or "no rows"


def _size(size: float) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
