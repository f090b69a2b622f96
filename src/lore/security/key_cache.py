"""`KeyCache`: the API keys this process has found, kept so that a request with a known key reads no store.

An entry is the store's row (the key, and its tenant's `disabled_at`) with the `KeyStamp` value read just
before the row was, and when. It is used while the stamp is unchanged and it is younger than `seconds`: a key
revoked, rotated or a tenant disabled by any process stops the entry at once, and the age bounds what a
write made behind Lore's back could leave. The key's state (active, rotating, expired) is still computed at
each use, and the secret's hash still compared on every request: the cache saves only the read.

Unknown key ids are not kept, so tokens made up by a client cannot fill it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from lore.backends.store.key_stamp import KeyStamp
from lore.security.keys_model import ApiKey

FoundKey = tuple[ApiKey, datetime | None]  # the key and its tenant's `disabled_at`
CAPACITY = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    found: FoundKey
    stamp: bytes
    read_at: float


class KeyCache:
    def __init__(self, stamp: KeyStamp, seconds: float, capacity: int = CAPACITY) -> None:
        self.stamp = stamp
        self.seconds = seconds
        self.capacity = capacity
        self._entries: dict[str, _Entry] = {}

    def get(self, key_id: str) -> FoundKey | None:
        """The kept row while it is current; None when the store must be read."""
        entry = self._entries.get(key_id)
        if entry is None:
            return None
        if time.monotonic() - entry.read_at > self.seconds or self.stamp.current() != entry.stamp:
            self._entries.pop(key_id, None)
            return None
        return entry.found

    def read(self, key_id: str, find: Callable[[str], FoundKey | None]) -> FoundKey | None:
        """The kept row, else `find`'s, kept when the stamp can be trusted."""
        if (kept := self.get(key_id)) is not None:
            return kept
        stamp = self.stamp.current()  # before the read: a write between the two leaves the entry stale
        found = find(key_id)
        if found is not None and stamp is not None:
            if len(self._entries) >= self.capacity:
                self._entries.pop(next(iter(self._entries)), None)  # the oldest kept
            self._entries[key_id] = _Entry(found, stamp, time.monotonic())
        return found

    def touched(self, key_id: str, at: datetime) -> None:
        """The store now has `at` as the key's last use: so should the kept row."""
        entry = self._entries.get(key_id)
        if entry is not None:
            key, disabled_at = entry.found
            self._entries[key_id] = replace(entry, found=(replace(key, last_used_at=at), disabled_at))
