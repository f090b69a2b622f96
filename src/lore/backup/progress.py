"""What backup and restore report while they run, and when they are done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Phase = Literal["read", "verify", "load", "index"]


@dataclass(frozen=True, slots=True)
class BackupProgress:
    """`done` of `total` rows (members, for `verify`) in the current phase; `table` names the one at work."""

    phase: Phase
    done: int
    total: int
    table: str = ""


OnProgress = Callable[[BackupProgress], None]


@dataclass(slots=True)
class BackupReport:
    path: Path
    bytes: int
    revision: str | None
    last_seq: int
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(slots=True)
class RestoreReport:
    path: Path
    source_dialect: str
    revision: str | None
    last_seq: int
    tables: dict[str, int] = field(default_factory=dict)
    vectors: int = 0
    seconds: float = 0.0


def report(on_progress: OnProgress | None, phase: Phase, done: int, total: int, table: str = "") -> None:
    if on_progress is not None:
        on_progress(BackupProgress(phase, done, total, table))
