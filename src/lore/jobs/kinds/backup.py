"""`backup`: write an archive of the whole store into the backup folder (`LORE_BACKUP_DIR`).

Idempotent in effect: a rerun after a crash writes a new, complete archive; the crashed attempt left none
under an archive name (archives are renamed into place only once complete).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lore.backup import BackupProgress, folder
from lore.jobs.registry import ReportProgress, handler

if TYPE_CHECKING:
    from lore.service import Lore


@handler("backup")
def backup(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    def on_progress(step: BackupProgress) -> None:
        if step.phase == "read" and (step.done == step.total or step.done % 10_000 == 0):
            progress(step.done, step.total)

    report = folder.write(lore.store, lore.settings, on_progress)
    return {
        "name": report.path.name,
        "bytes": report.bytes,
        "revision": report.revision,
        "last_seq": report.last_seq,
        "tables": report.tables,
    }
