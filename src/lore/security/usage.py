"""`UsageRecorder`: what each tenant and key used today, counted in memory and written to the store in batches.

    >>> recorder = UsageRecorder(db.usage, flush_seconds=1.0, flush_increments=1000)
    >>> recorder.start()
    >>> recorder.add("default", "k1", "searches")       # no write here: a search never waits for the store
    >>> recorder.used_today("default", "requests")      # stored + not yet written, for quotas
    >>> recorder.close()                                # the last increments are written

A thread writes the buffer every `flush_seconds`, or sooner once `flush_increments` are waiting, as one
upsert-add per counter. A failed write keeps its increments for the next one. `used_today` adds what this
process has not written yet to the day's stored totals, which it re-reads after each write, so other
processes' usage shows within about a second.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from lore.answers import Usage
from lore.backends.store.usage_records import NO_KEY, UsageKey, UsageRecords, metric_total
from lore.errors import InvalidInput

logger = logging.getLogger("lore.usage")

TenantDay = tuple[str, str]


def utc_day() -> str:
    return datetime.now(UTC).date().isoformat()


class UsageRecorder:
    def __init__(
        self,
        records: UsageRecords,
        *,
        flush_seconds: float = 1.0,
        flush_increments: int = 1000,
        today: Callable[[], str] = utc_day,
    ) -> None:
        self.records = records
        self.flush_seconds = flush_seconds
        self.flush_increments = flush_increments
        self.today = today
        self._lock = threading.Lock()  # guards the counters below
        self._writing = threading.Lock()  # one write or re-read of the store at a time
        self._pending: Counter[UsageKey] = Counter()
        self._unwritten: dict[TenantDay, Counter[str]] = {}  # pending and being written, per tenant day
        self._stored: dict[TenantDay, dict[str, int]] = {}  # the store's day totals of tenants asked about
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- counting ----------------------------------------------------------------------------------------

    def add(self, tenant_id: str, key_id: str | None, metric: str, amount: int = 1) -> None:
        if amount <= 0:
            return
        key = UsageKey(tenant_id, self.today(), key_id or NO_KEY, metric)
        with self._lock:
            self._pending[key] += amount
            self._unwritten.setdefault((tenant_id, key.day), Counter())[metric] += amount
            full = len(self._pending) >= self.flush_increments
        if full:
            self._wake.set()

    def add_answer(self, tenant_id: str, key_id: str | None, usage: Usage) -> None:
        """The tokens one answer cost, by provider."""
        self.add(tenant_id, key_id, f"tokens_in:{usage.provider}", usage.prompt_tokens)
        self.add(tenant_id, key_id, f"tokens_out:{usage.provider}", usage.completion_tokens)

    def used_today(self, tenant_id: str, family: str) -> int:
        """The tenant's usage of `family` (a metric, or `tokens`) today, over every process. The first call
        for a tenant each day reads its totals from the store."""
        day = (tenant_id, self.today())
        if day not in self._stored:
            self._load(day)
        with self._lock:
            unwritten = self._unwritten.get(day, Counter())
            return metric_total(self._stored.get(day, {}), family) + metric_total(unwritten, family)

    def _load(self, day: TenantDay) -> None:
        with self._writing:
            totals = self.records.day_totals(*day)
            with self._lock:
                self._stored.setdefault(day, totals)

    # --- writing -----------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what is buffered now (callers that report usage call this first, to include it)."""
        with self._writing:
            with self._lock:
                batch, self._pending = self._pending, Counter()
            try:
                self.records.add(batch)
            except Exception:
                logger.exception("usage counters not written; kept for the next attempt")
                with self._lock:
                    self._pending.update(batch)
                return
            with self._lock:
                for key, value in batch.items():
                    self._written(key, value)

    def _written(self, key: UsageKey, value: int) -> None:
        day = (key.tenant_id, key.day)
        unwritten = self._unwritten[day]
        unwritten[key.metric] -= value
        if unwritten[key.metric] <= 0:
            del unwritten[key.metric]
        if not unwritten:
            del self._unwritten[day]
        if day in self._stored:
            self._stored[day][key.metric] = self._stored[day].get(key.metric, 0) + value

    def refresh(self) -> None:
        """Re-read today's stored totals of the tenants asked about, with other processes' usage in them;
        older days are forgotten."""
        today = self.today()
        with self._writing:
            days = [day for day in list(self._stored) if day[1] == today]
            fresh = {day: self.records.day_totals(*day) for day in days}
            with self._lock:
                self._stored = fresh

    # --- the writer thread -------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lore-usage", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
                self.refresh()
            except Exception:  # the store is away: try again next time, never stop counting
                logger.exception("usage counters not refreshed")

    def close(self) -> None:
        """Stop the writer thread and write what is left."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()


MAX_REPORT_DAYS = 366


def report_range(since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """The days a usage report covers: `until` defaults to today, `since` to 29 days before `until`; at most
    `MAX_REPORT_DAYS` days, oldest first."""
    until = until or today
    since = since or until - timedelta(days=29)
    if since > until:
        raise InvalidInput(
            "since must not be after until", details={"since": str(since), "until": str(until)}
        )
    if (until - since).days >= MAX_REPORT_DAYS:
        raise InvalidInput(
            f"a usage report covers at most {MAX_REPORT_DAYS} days",
            details={"since": str(since), "until": str(until)},
        )
    return since, until
