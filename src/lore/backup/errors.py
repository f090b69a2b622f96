"""Errors of backup and restore, each with a stable code (their HTTP status follows from the parent class).

InvalidInput
├── BackupCorrupt            not a Lore archive, truncated, or a member fails its checksum
└── BackupUnsupported        an archive format or schema revision this Lore does not know
Conflict
└── RestoreTargetNotEmpty    the target store already holds data
"""

from __future__ import annotations

from lore.errors import Conflict, InvalidInput


class BackupCorrupt(InvalidInput):
    code = "backup_corrupt"


class BackupUnsupported(InvalidInput):
    code = "backup_unsupported"


class RestoreTargetNotEmpty(Conflict):
    code = "restore_target_not_empty"
