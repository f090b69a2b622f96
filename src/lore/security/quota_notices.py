"""`QuotaNotices`: a `quota.near` event once a tenant's use of a quota reaches a share of it (80% by default,
`LORE_QUOTA_NEAR_FRACTION`), once per tenant, quota and UTC day, however many processes see it.

    >>> notices = QuotaNotices(db.notices, bus, fraction=0.8)
    >>> notices.observe("default", "requests_per_day", used=800, limit=1000)   # never blocks on the store
    >>> # a thread claims the notice in the store; the one claim that wins publishes:
    >>> # quota.near {"quota": "requests_per_day", "used": 800, "limit": 1000, "period": "2026-12-02", ...}

The quota checks call `observe` on every request, so it answers from memory: a notice this process has handed
on (announced or found announced) is not looked at again that day. The claim, a conditional insert of the
notice's row (`NoticeRecords.claim`), is what makes it once across processes.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from lore.backends.store.notice_records import NoticeRecords
from lore.bus import BusEvent, EventBus
from lore.security.usage import utc_day

logger = logging.getLogger("lore.quotas")

EVENT = "quota.near"


class Nearing(NamedTuple):
    tenant_id: str
    quota: str
    used: int
    limit: int
    period: str  # the UTC day, YYYY-MM-DD


class QuotaNotices:
    def __init__(self, records: NoticeRecords, bus: EventBus, fraction: float) -> None:
        self.records = records
        self.bus = bus
        self.fraction = fraction
        self._handled: set[tuple[str, str, str]] = set()  # (tenant, quota, period) handed to the claimer
        self._lock = threading.Lock()
        self._claimer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lore-quota-notices")

    def observe(self, tenant_id: str, quota: str, used: int, limit: int) -> None:
        """`used` of `limit` is the tenant's use of `quota` now: at or past the share, its notice is claimed
        (in the background) unless this process handed it on already today."""
        if limit <= 0 or used < self.fraction * limit:
            return
        period = utc_day()
        key = (tenant_id, quota, period)
        with self._lock:
            if key in self._handled:
                return
            if len(self._handled) > 10_000:  # yesterday's keys: forgotten rather than kept for ever
                self._handled = {handled for handled in self._handled if handled[2] == period}
            self._handled.add(key)
        self._claimer.submit(self.announce, Nearing(tenant_id, quota, used, limit, period))

    def announce(self, nearing: Nearing) -> bool:
        """Claim the notice and, if this claim made it, publish the event; whether it was published here."""
        try:
            claimed = self.records.claim(nearing.tenant_id, EVENT, nearing.quota, nearing.period)
        except Exception:  # the store is away: let a later request try again
            logger.exception("quota notice of tenant %r not claimed", nearing.tenant_id)
            with self._lock:
                self._handled.discard((nearing.tenant_id, nearing.quota, nearing.period))
            return False
        if claimed:
            data = {**nearing._asdict(), "fraction": self.fraction}
            del data["tenant_id"]
            self.bus.publish(BusEvent(EVENT, nearing.tenant_id, data))
        return claimed

    def close(self) -> None:
        """Finish the claims under way."""
        self._claimer.shutdown(wait=True)
