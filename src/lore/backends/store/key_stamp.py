"""`KeyStamp`: a value every process sharing a store sees change after any write that can change whether an API
key is valid (a key revoked or rotated, a tenant disabled or re-enabled). It lets a process keep the keys it
has checked in memory and still refuse a revoked key on the next request, whichever process revoked it.

A cache reads `current()` *before* it reads the store and keeps that value with what it read; an entry is good
while `current()` still returns the same value. Writers call `bump()` *after* their transaction commits, so a
reader that saw the old value either read the old rows (and its entry goes stale at the bump) or the new ones.
`current()` is None when the stamp cannot be trusted: callers then read the store.

- SQLite: 8 random bytes in the file `<database>-keystamp` beside the database, written with one `pwrite` and
  read with one `pread` (a system call, about a microsecond: no store read).
- PostgreSQL: `NOTIFY lore_key_stamp` after each such write; each process keeps one connection that LISTENs
  and counts the notifications. While that connection is down, `current()` is None.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

log = logging.getLogger(__name__)

CHANNEL = "lore_key_stamp"
STAMP_BYTES = 8
RECONNECT_SECONDS = (0.1, 0.5, 2.0, 5.0)  # a down listener retries after these waits, then every 5 s


class KeyStamp(Protocol):
    def current(self) -> bytes | None:
        """The stamp now; None when it cannot be trusted (the store must be read)."""

    def bump(self) -> None:
        """Change the stamp for every process; called after a committed write."""

    def close(self) -> None: ...


class NoStamp:
    """For a backend with no way to signal other processes: nothing may be cached."""

    def current(self) -> bytes | None:
        return None

    def bump(self) -> None:
        return None

    def close(self) -> None:
        return None


class FileStamp:
    """The stamp in a small file every process on the machine opens (SQLite's processes share one)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._broken = False  # a bump failed: this process trusts the stamp no more
        self._lock = threading.Lock()

    def _file(self) -> int:
        if self._fd is None:
            with self._lock:
                if self._fd is None:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                    if os.fstat(fd).st_size < STAMP_BYTES:
                        os.pwrite(fd, secrets.token_bytes(STAMP_BYTES), 0)
                    self._fd = fd
        return self._fd

    def current(self) -> bytes | None:
        if self._broken:
            return None
        try:
            return os.pread(self._file(), STAMP_BYTES, 0)
        except OSError:
            return None

    def bump(self) -> None:
        """The write it follows has committed, so a failure here must not fail that write: it is logged, and
        this process stops caching; others keep what they hold at most their cache's age bound."""
        try:
            os.pwrite(self._file(), secrets.token_bytes(STAMP_BYTES), 0)
        except OSError as error:
            self._broken = True
            log.error(
                "key stamp %s could not be written (%s): key cache off in this process", self.path, error
            )

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class NotifyStamp:
    """The stamp as a count of PostgreSQL notifications on `CHANNEL`, heard by one listening thread per process
    (started on the first `current()`, so commands that never check a key open no connection)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._generation = 0  # changed on every notification heard, every local bump and every (re)connect
        self._listening = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def current(self) -> bytes | None:
        if self._thread is None:
            self._start()
        if not self._listening:
            return None
        return self._generation.to_bytes(STAMP_BYTES, "little", signed=False)

    def bump(self) -> None:
        with self._lock:
            self._generation += 1  # this process sees its own write at once, before its notification arrives
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
        except sa.exc.SQLAlchemyError as error:  # the write committed; other processes' age bound still holds
            log.error("key stamp notification failed (%s): other processes see the change by age", error)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._listen, name="lore-key-stamp", daemon=True)
                self._thread.start()

    def _listen(self) -> None:
        import psycopg

        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._heard()  # whatever was missed while down is covered by this change
                    self._listening, failures = True, 0
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._heard()
            except psycopg.Error as error:
                if failures == 0:
                    log.warning("key stamp listener lost its connection: %s", error)
                failures += 1
            finally:
                self._listening = False
            self._stop.wait(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS)) - 1] if failures else 0)

    def _heard(self) -> None:
        with self._lock:
            self._generation += 1
