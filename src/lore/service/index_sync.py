"""The derived indexes (vectors, and the in-memory keywords when configured) kept current with the store.

Every write appends changes to the store's change feed; `IndexSync` replays them into this process's indexes,
also those written by other processes, moves the model directory forward at re-embedding switches, and tells the
search cache which content changed. `IndexSaver` persists the vector index now and then, so a restart replays few
changes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from lore.core import index_sync
from lore.core.bm25 import KeywordIndex
from lore.interfaces import ChangeFeed, ChunkSource, VectorIndex, VectorSource
from lore.service.embedding_models import ModelDirectory
from lore.service.search_cache import SearchCache

INDEX_SAVE_SECONDS = 30.0
logger = logging.getLogger("lore.index")


class IndexSync:
    """Replays the change feed into the indexes under one lock; the owner of `applied_seq`."""

    def __init__(
        self,
        feed: ChangeFeed,
        vectors: VectorSource,
        chunks: ChunkSource,
        index: VectorIndex,
        keywords: KeywordIndex | None,
        models: ModelDirectory,
        cache: SearchCache,
        *,
        check_seconds: float,
    ) -> None:
        self.feed = feed
        self.vectors = vectors
        self.index = index
        self.keywords = keywords
        self.models = models
        self.cache = cache
        self.check_seconds = check_seconds  # how often a search asks the store whether others wrote
        self._keyword_changes = index_sync.KeywordChanges(chunks, models.serving)
        self._chunks = chunks
        self._lock = threading.Lock()
        self._last_check = 0.0

    @property
    def applied_seq(self) -> int:
        """The newest change every index of this process has applied."""
        applied = self.index.applied_seq
        return applied if self.keywords is None else min(applied, self.keywords.applied_seq)

    def sync(self) -> int:
        """Replay store changes into the indexes; returns how many the vector index applied. A collection
        switches to a new model exactly when the index has applied the change its new partition is complete
        at, and before the old partition's removals: a search never sees a half-built or half-dropped one."""
        with self._lock:
            target = self.feed.last_seq()
            update = self.models.update()
            applied = 0
            for seq in [*update.switch_points(self.index.applied_seq, target), target]:
                applied += index_sync.catch_up(
                    self.feed, self.vectors, self.index, upto=seq, on_batch=self.cache.record
                )
                self.models.advance(update, self.index.applied_seq)
            if self.keywords is not None:
                self.keywords.catch_up(self.feed, self._chunks, self._keyword_changes)
            if applied:
                self.models.index_changed()
            self._last_check = time.monotonic()
            return applied

    def sync_if_due(self) -> None:
        """Catch up with other processes' writes at most every `check_seconds`."""
        if time.monotonic() - self._last_check < self.check_seconds:
            return
        self._last_check = time.monotonic()
        if self.feed.last_seq() > self.applied_seq:
            self.sync()

    def after_write(self, *, save: bool) -> None:
        self.sync()
        if save:
            self.index.save()

    def rebuild(self) -> int:
        """Rebuild the derived indexes from the store; cached results and versions start over with them (the
        store may have been restored from an older backup, whose change numbers are lower)."""
        with self._lock:
            self.models.forget()
            total = index_sync.rebuild(self.feed, self.vectors, self.models.recorded(), self.index)
            if self.keywords is not None:
                self.keywords.clear()
                self.keywords.catch_up(self.feed, self._chunks, self._keyword_changes)
            self.models.index_changed()
            self.cache.clear()
            return total

    def readiness(self) -> dict[str, Any]:
        """How far each index is behind the store, for /readyz."""
        last = self.feed.last_seq()
        state: dict[str, Any] = {"index": {"applied_seq": self.index.applied_seq, "store_seq": last}}
        if self.keywords is not None:
            state["keyword_index"] = {"applied_seq": self.keywords.applied_seq, "store_seq": last}
        return state


class IndexSaver:
    """Persists the vector index every `interval` seconds when it moved. A thread, because saving blocks; an
    error is logged and retried at the next tick."""

    def __init__(self, sync: IndexSync, interval: float = INDEX_SAVE_SECONDS) -> None:
        self.sync = sync
        self.interval = interval
        self._saved_seq: int | None = None  # unknown at start: opening catches up without saving
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lore-index-saver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.save_if_changed()
            except Exception:
                logger.exception("saving the vector index failed")

    def save_if_changed(self) -> bool:
        self.sync.sync()
        seq = self.sync.index.applied_seq
        if seq == self._saved_seq:
            return False
        self.sync.index.save()
        self._saved_seq = seq
        return True
