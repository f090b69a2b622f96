"""Backup and restore: a consistent, portable snapshot of a store, for both backends and across them.

>>> create_backup(lore.store, Path("lore.tar"))      # while Lore keeps serving
>>> restore_backup(Settings(data_dir=Path("new")), Path("lore.tar"))
"""

from lore.backup.create import create_backup
from lore.backup.errors import BackupCorrupt, BackupUnsupported, RestoreTargetNotEmpty
from lore.backup.progress import BackupProgress, BackupReport, RestoreReport
from lore.backup.restore import restore_backup

__all__ = [
    "BackupCorrupt",
    "BackupProgress",
    "BackupReport",
    "BackupUnsupported",
    "RestoreReport",
    "RestoreTargetNotEmpty",
    "create_backup",
    "restore_backup",
]
