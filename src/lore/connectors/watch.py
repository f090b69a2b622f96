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
WAKE_MS = 500  # how long the watcher waits for a change before yielding nothing


def watch(
    syncer: Syncer,
    spec: SourceSpec,
    on_sync: Callable[[SyncReport], None],
    stop: threading.Event | None = None,
) -> None:
    """Sync `spec` (a folder) once the watcher is watching (so no change made meanwhile is missed), then after
    every change, until `stop` is set."""
    root = Path(spec.location).expanduser().resolve()
    first = True
    changes = watchfiles.watch(
        root,
        debounce=DEBOUNCE_MS,
        stop_event=stop,
        raise_interrupt=False,
        yield_on_timeout=True,  # an empty set when nothing changed: the first one says the watcher is up
        rust_timeout=WAKE_MS,
    )
    for changed in changes:
        if changed or first:
            first = False
            on_sync(syncer.run(spec))
