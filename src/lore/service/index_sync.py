"""The derived indexes (vectors, and the in-memory keywords when configured) kept current with the store.

Every write appends changes to the store's change feed; `IndexSync` replays them into this process's indexes,
also those written by other processes, moves the model directory forward at re-embedding switches, and tells the
search cache which content changed. `IndexSaver` persists the vector index now and then, so a restart replays few
changes.

A server (`follow()`) replays in a background thread, a step of `STEP_CHANGES` at a time, so neither a write nor a
search ever waits for a long catch-up: a big upload commits and returns, and searches answer from what the indexes
have applied meanwhile. A write or a search still catches up itself when that is cheap (a few changes behind and
the lock free; a write also waits a moment for a catch-up under way), which keeps read-your-writes for ordinary
documents. Without a
background thread (the CLI, a library user) every catch-up happens at once, as it is asked for.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lore.core import index_sync
from lore.core.bm25 import KeywordIndex
from lore.errors import Unavailable
from lore.interfaces import ChangeFeed, ChunkSource, VectorIndex, VectorSource
from lore.models import Change
from lore.service.embedding_models import ModelDirectory
from lore.service.readiness import Check
from lore.service.search_cache import SearchCache

INDEX_SAVE_SECONDS = 30.0
STEP_CHANGES = 256  # changes per batch, and per step of the background catch-up (a few tens of milliseconds)
WAIT_SECONDS = 1.0  # longest a write waits for a cheap catch-up that another thread runs
RETRY_SECONDS = 5.0  # pause of the background catch-up after a failure (the store is down, say)
logger = logging.getLogger("lore.index")


class IndexBehind(Unavailable):
    code = "index_behind"


@dataclass(frozen=True, slots=True)
class Lag:
    """How far the indexes are behind the store: changes not applied yet, and seconds since they last held
    everything the store had (0 when current)."""

    changes: int
    seconds: float


class FeedView:
    """The change feed seen by one catch-up: changes up to `upto` only, and at most `budget` of them in all."""

    def __init__(self, feed: ChangeFeed, *, upto: int | None = None, budget: int | None = None) -> None:
        self.feed = feed
        self.upto = upto
        self.budget = budget

    def changes_since(self, seq: int, limit: int = STEP_CHANGES) -> list[Change]:
        if self.budget is not None:
            limit = min(limit, self.budget)
        if self.upto is not None:
            limit = min(
                limit, self.upto - seq
            )  # change numbers are unique: no more than that many up to `upto`
        changes = self.feed.changes_since(seq, limit) if limit > 0 else []
        if self.upto is not None:
            changes = [change for change in changes if change.seq <= self.upto]
        if self.budget is not None:
            self.budget -= len(changes)
        return changes

    def last_seq(self) -> int:
        return self.feed.last_seq()


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
        inline_changes: int = 256,
    ) -> None:
        self.feed = feed
        self.vectors = vectors
        self.index = index
        self.keywords = keywords
        self.models = models
        self.cache = cache
        self.check_seconds = check_seconds  # how often a search asks the store whether others wrote
        self.inline_changes = inline_changes  # how far behind a write or a search still catches up itself
        self._keyword_changes = index_sync.KeywordChanges(chunks, models.serving)
        self._chunks = chunks
        self._lock = threading.Lock()
        self._progress = threading.Condition()  # notified whenever a catch-up released the lock
        self._last_check = 0.0
        self._current_at = time.monotonic()  # when the indexes last held everything the store had
        self._behind = False  # whether the last catch-up stopped short of the store
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None

    @property
    def applied_seq(self) -> int:
        """The newest change every index of this process has applied."""
        applied = self.index.applied_seq
        return applied if self.keywords is None else min(applied, self.keywords.applied_seq)

    @property
    def following(self) -> bool:
        """Whether a background thread catches up (a server)."""
        return self._follower is not None

    # -- catching up --------------------------------------------------------------------------------------

    def sync(self) -> int:
        """Replay every store change now, however many; returns how many the vector index applied."""
        with self.exclusive():
            return self._catch_up(None)

    def catch_up_to(self, seq: int, *, wait: float = 0.0) -> bool:
        """Make change `seq` applied: at once without a background thread; with one only when cheap (see
        `_cheaply`), else the thread is woken and the caller goes on with what is applied. Returns whether
        `seq` is applied."""
        if self.applied_seq >= seq:
            return True
        if not self.following:
            self.sync()
            return True
        if self._cheaply(seq, wait):
            return True
        self._wake.set()
        return False

    def sync_if_due(self) -> None:
        """A search's: catch up with other processes' writes, asking the store at most every `check_seconds`;
        never waiting for a catch-up that runs."""
        if time.monotonic() - self._last_check < self.check_seconds:
            return
        self._last_check = time.monotonic()
        self.catch_up_to(self.feed.last_seq())

    def after_write(self, *, save: bool) -> None:
        """A write committed: apply it (when cheap, if a background thread follows, waiting up to
        `WAIT_SECONDS` for a catch-up under way: an ordinary write is searchable once it returns; the saver
        persists the index then)."""
        self.catch_up_to(self.feed.last_seq(), wait=WAIT_SECONDS)
        if save and not self.following:
            self.index.save()

    def _cheaply(self, seq: int, wait: float) -> bool:
        """Catch up to `seq` if it is at most `inline_changes` ahead: here when the lock is free, else by
        waiting (at most `wait` seconds) for the catch-up that holds it."""
        deadline = time.monotonic() + wait
        while (applied := self.applied_seq) < seq:
            if seq - applied > self.inline_changes:
                return False
            if self._lock.acquire(blocking=False):
                try:
                    moved = self._catch_up(self.inline_changes)
                finally:
                    self._released()
                if not moved and self.applied_seq < seq:
                    return False  # nothing to apply up to `seq` yet (the feed has a gap)
                continue
            with self._progress:
                if self._lock.locked() and time.monotonic() < deadline:
                    self._progress.wait(deadline - time.monotonic())
                elif self._lock.locked():
                    return False
        return True

    def _catch_up(self, budget: int | None) -> int:
        """Under the lock: apply up to `budget` changes (None: all). A collection switches to a new model
        exactly when the index has applied the change its new partition is complete at, and before the old
        partition's removals: a search never sees a half-built or half-dropped one."""
        asked = time.monotonic()
        target = self.feed.last_seq()
        update = self.models.update()
        view = FeedView(self.feed, budget=budget)
        batches: list[list[Change]] = []
        for seq in [*update.switch_points(self.index.applied_seq, target), target]:
            view.upto = seq
            index_sync.catch_up(
                view, self.vectors, self.index, STEP_CHANGES, upto=seq, on_batch=batches.append
            )
            self.models.advance(update, self.index.applied_seq)
            if self.index.applied_seq < seq:
                break  # the budget is spent
        if self.keywords is not None:
            upto = FeedView(self.feed, upto=self.index.applied_seq)
            self.keywords.catch_up(upto, self._chunks, self._keyword_changes)
        for batch in batches:  # content versions move once every index holds the batch
            self.cache.record(batch)
        current = self.applied_seq >= target
        if batches and (current or not self._behind):
            self.models.index_changed()  # a store query: at the start and the end of a long catch-up only
        self._behind = not current
        if current:
            self._current_at = asked
        return sum(map(len, batches))

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the sync lock: no catch-up runs meanwhile, as while one does (a rebuild holds it throughout)."""
        self._lock.acquire()
        try:
            yield
        finally:
            self._released()

    def _released(self) -> None:
        self._lock.release()
        with self._progress:
            self._progress.notify_all()

    # -- the background thread of a server ------------------------------------------------------------------

    def follow(self) -> None:
        """From now on, catch up in a background thread: woken by writes and searches that leave the work to
        it, and every `check_seconds` for other processes' writes."""
        if self._follower is not None:
            return
        self._stop.clear()
        self._follower = threading.Thread(target=self._follow, name="lore-index-sync", daemon=True)
        self._follower.start()

    def stop_following(self) -> None:
        """Stop the background thread; it ends after the step it is in."""
        thread, self._follower = self._follower, None
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join()

    def _follow(self) -> None:
        failing = False
        while not self._stop.is_set():
            self._wake.wait(self.check_seconds)
            self._wake.clear()
            try:
                while not self._stop.is_set() and self._step():
                    pass
            except Exception:
                if not failing:  # the first failure of a run of them is logged, not each retry
                    logger.exception("catching up the index failed; retrying every %g s", RETRY_SECONDS)
                failing = True
                self._stop.wait(RETRY_SECONDS)
            else:
                failing = False

    def _step(self) -> bool:
        """One bounded catch-up; whether it applied anything (so another may be due)."""
        with self.exclusive():
            if self.feed.last_seq() <= self.applied_seq:
                self._current_at = time.monotonic()
                return False
            return self._catch_up(STEP_CHANGES) > 0

    def close(self) -> None:
        """Stop following, and apply what is cheap to apply; the rest is replayed at the next start (the
        indexes are derived), so closing never waits for a long catch-up."""
        self.stop_following()
        with self.exclusive():
            if self.feed.last_seq() - self.applied_seq <= self.inline_changes:
                self._catch_up(None)

    # -- rebuilding and reporting -------------------------------------------------------------------------

    def rebuild(self) -> int:
        """Rebuild the derived indexes from the store; cached results and versions start over with them (the
        store may have been restored from an older backup, whose change numbers are lower)."""
        with self.exclusive():
            self.models.forget()
            total = index_sync.rebuild(self.feed, self.vectors, self.models.recorded(), self.index)
            if self.keywords is not None:
                self.keywords.clear()
                self.keywords.catch_up(self.feed, self._chunks, self._keyword_changes)
            self.models.index_changed()
            self.cache.clear()
            self._current_at = time.monotonic()
            return total

    def lag(self) -> Lag:
        behind = self.feed.last_seq() - self.applied_seq
        if behind <= 0:
            return Lag(0, 0.0)
        return Lag(behind, round(time.monotonic() - self._current_at, 3))

    def checks(self) -> dict[str, Check]:
        """What /readyz checks of the indexes: how far each is behind the store."""
        checks: dict[str, Check] = {"vector_index": self._vector_state}
        if self.keywords is not None:
            checks["keyword_index"] = self._keyword_state
        return checks

    def _vector_state(self) -> dict[str, Any]:
        last = self.feed.last_seq()
        return {
            "applied_seq": self.index.applied_seq,
            "store_seq": last,
            "changes_behind": max(0, last - self.index.applied_seq),
            "seconds_behind": self.lag().seconds,
        }

    def _keyword_state(self) -> dict[str, Any]:
        assert self.keywords is not None
        return {"applied_seq": self.keywords.applied_seq, "store_seq": self.feed.last_seq()}


class IndexSaver:
    """Persists the vector index every `interval` seconds when it moved. A thread, because saving blocks; an
    error is logged and retried at the next tick. It saves what is applied: catching up is `IndexSync`'s."""

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
        seq = self.sync.index.applied_seq
        if seq == self._saved_seq:
            return False
        self.sync.index.save()
        self._saved_seq = seq
        return True
