"""`watch`: a folder kept in sync while it changes. Changes are debounced by `watchfiles` (a burst of saves is
one sync), and each sync is the folder connector's, so only files whose content changed are written and files
that went away are removed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

from lore.connectors.sync import SourceSpec, Syncer, SyncReport

DEBOUNCE_MS = 300


def watch(
    syncer: Syncer,
    spec: SourceSpec,
    on_sync: Callable[[SyncReport], None],
    stop: threading.Event | None = None,
) -> None:
    """Sync `spec` (a folder) now, then after every change, until `stop` is set."""
    on_sync(syncer.run(spec))
    root = Path(spec.location).expanduser().resolve()
    for _changes in watchfiles.watch(root, debounce=DEBOUNCE_MS, stop_event=stop, raise_interrupt=False):
        on_sync(syncer.run(spec))
