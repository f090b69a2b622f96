"""The server-side backup folder, where the admin API and the `backup` job write archives.

Archives are addressed by a plain file name only (no separators, no leading dot), so a name taken from a
request can never reach outside the folder.

The folder is bounded two ways. Retention: after each successful backup written here, archives older than the
newest `LORE_BACKUP_KEEP` are deleted. Quota: while the archives add up to `LORE_BACKUP_MAX_BYTES`, a new backup
is refused with `QuotaExceeded` (429 `quota_exceeded`) before anything is written; deleting archives, keeping
fewer or raising the quota makes room.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lore.backends.store.database import Database
from lore.backup.create import create_backup
from lore.backup.progress import BackupReport, OnProgress
from lore.config import Settings
from lore.errors import InvalidInput, NotFound, QuotaExceeded

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,123}\.tar$")
QUOTA_RETRY_SECONDS = 600.0  # room is made by people (or the next retention), not by the clock


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    name: str
    bytes: int
    created_at: datetime


def backup_dir(settings: Settings) -> Path:
    return settings.storage.backup_dir or settings.storage.data_dir / "backups"


def new_name() -> str:
    """Sorts by creation time; the random tail keeps replicas writing at the same instant apart."""
    return f"lore-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}.tar"


def write(db: Database, settings: Settings, on_progress: OnProgress | None = None) -> BackupReport:
    """A new archive of the database in the backup folder, within its quota; older archives beyond the
    retention are deleted once it is complete."""
    check_quota(settings)
    folder = backup_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    report = create_backup(db, folder / new_name(), on_progress)
    prune(settings, written=report.path.name)
    return report


def check_quota(settings: Settings) -> None:
    """Raise QuotaExceeded while the folder's archives add up to `backup_max_bytes` or more."""
    limit = settings.storage.backup_max_bytes
    if limit is None:
        return
    used = sum(item.bytes for item in listing(settings))
    if used >= limit:
        raise QuotaExceeded(
            f"the backup folder holds {used} bytes of archives, its quota is {limit}: delete archives, keep "
            "fewer (LORE_BACKUP_KEEP) or raise the quota (LORE_BACKUP_MAX_BYTES)",
            retry_after=QUOTA_RETRY_SECONDS,
            details={"name": "backup_bytes", "limit": limit, "used": used},
        )


def prune(settings: Settings, written: str) -> list[str]:
    """Delete the archives beyond the newest `backup_keep` (never `written`, the one just made); returns
    their names. Another replica pruning at the same time deletes the same ones: already gone is fine."""
    keep = settings.storage.backup_keep
    if keep == 0:
        return []
    folder = backup_dir(settings)
    removed = [item.name for item in listing(settings)[keep:] if item.name != written]
    for name in removed:
        (folder / name).unlink(missing_ok=True)
    return removed


def delete(settings: Settings, name: str) -> None:
    find(settings, name).unlink(missing_ok=True)


def check_archive_name(name: str) -> str:
    if not NAME.match(name):
        raise InvalidInput(
            "invalid backup name: use the name of an archive in the backup folder", details={"name": name}
        )
    return name


def find(settings: Settings, name: str) -> Path:
    path = backup_dir(settings) / check_archive_name(name)
    if not path.is_file():
        raise NotFound(f"no backup named {name!r}", details={"name": name})
    return path


def listing(settings: Settings) -> list[ArchiveFile]:
    """Every archive in the folder, newest first by name (archive names begin with their creation time);
    archives being written stay hidden until they are renamed into place."""
    folder = backup_dir(settings)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if NAME.match(path.name) and path.is_file():
            stat = path.stat()
            found.append(ArchiveFile(path.name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)))
    return sorted(found, key=lambda item: item.name, reverse=True)
