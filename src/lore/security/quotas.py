"""Each tenant's policy (its rate limits and quotas) and the quota checks.

A tenant's `settings` JSON may hold, next to its other policy:

    {"rate_limits": {"tenant": "6000/minute", "user": "600/minute", "key": "600/minute", "address": "30/minute"},
     "quotas": {"documents": 10000, "stored_bytes": 1000000000, "tokens_per_day": 2000000,
                "requests_per_day": 500000}}

A name missing there takes its default from the `limits` settings; a name set to null lifts that limit for the
tenant (all but `address`: publishable keys are always limited per client address). Exceeding a quota raises `QuotaExceeded` (429 `quota_exceeded`) with `details` {name, limit, used}:
the daily ones ask to retry at the next UTC midnight, the stored ones once the policy may have changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from limits import parse_many

from lore.backends.store.usage_records import Stored, UsageRecords
from lore.config import LimitsSettings
from lore.errors import InvalidInput, QuotaExceeded
from lore.security.quota_notices import QuotaNotices
from lore.security.usage import UsageRecorder

logger = logging.getLogger("lore.quotas")

RateName = Literal["tenant", "user", "key", "address"]
QuotaName = Literal["documents", "stored_bytes", "tokens_per_day", "requests_per_day"]
RATE_NAMES: tuple[RateName, ...] = get_args(RateName)
QUOTA_NAMES: tuple[QuotaName, ...] = get_args(QuotaName)
PolicySource = Callable[[str], Mapping[str, Any] | None]  # tenant id -> its settings JSON (None: unknown)


@dataclass(frozen=True, slots=True)
class TenantPolicy:
    """Limits expressions by name (None: unlimited) and quotas by name (None: no quota)."""

    rate_limits: Mapping[RateName, str | None]
    quotas: Mapping[QuotaName, int | None]


def defaults(settings: LimitsSettings) -> TenantPolicy:
    rates: dict[RateName, str | None] = {
        "tenant": settings.rate_limit_tenant,
        "user": settings.rate_limit_user,
        "key": settings.rate_limit_key,
        "address": settings.rate_limit_address,
    }
    quotas: dict[QuotaName, int | None] = {
        "documents": settings.quota_documents,
        "stored_bytes": settings.quota_stored_bytes,
        "tokens_per_day": settings.quota_tokens_per_day,
        "requests_per_day": settings.quota_requests_per_day,
    }
    return TenantPolicy(rates, quotas)


def check_policy(tenant_settings: Mapping[str, Any]) -> None:
    """Raise InvalidInput unless the `rate_limits` and `quotas` of a tenant's settings are well formed: what
    an API that changes them calls first."""
    rates, quotas = tenant_settings.get("rate_limits", {}), tenant_settings.get("quotas", {})
    if not isinstance(rates, Mapping) or not isinstance(quotas, Mapping):
        raise InvalidInput("rate_limits and quotas must be objects")
    for name, value in rates.items():
        if name not in RATE_NAMES or not (_parses(value) or (value is None and name != "address")):
            raise InvalidInput(
                f"rate_limits.{name}: a limits expression such as '600/minute' (or null, except for "
                f"address: publishable keys are always limited per address), for one of {', '.join(RATE_NAMES)}",
                details={"name": name},
            )
    for name, value in quotas.items():
        if name not in QUOTA_NAMES or not (value is None or _count(value)):
            raise InvalidInput(
                f"quotas.{name}: a whole number >= 0, or null, for one of {', '.join(QUOTA_NAMES)}",
                details={"name": name},
            )


def _parses(value: object) -> bool:
    try:
        return isinstance(value, str) and bool(parse_many(value))
    except ValueError:
        return False


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def policy_of(base: TenantPolicy, tenant_settings: Mapping[str, Any] | None) -> TenantPolicy:
    """The defaults with the tenant's own values over them; a malformed policy is logged and ignored."""
    if not tenant_settings:
        return base
    try:
        check_policy(tenant_settings)
    except InvalidInput as error:
        logger.warning("tenant policy ignored: %s", error.message)
        return base
    rates = {**base.rate_limits, **tenant_settings.get("rate_limits", {})}
    quotas = {**base.quotas, **tenant_settings.get("quotas", {})}
    return TenantPolicy(rates, quotas)


class Policies:
    """Tenants' policies, each kept `ttl` seconds: a request never waits for the store once its tenant's is
    cached (`cached`), and `load` (blocking) reads it."""

    def __init__(self, source: PolicySource, base: TenantPolicy, ttl: float) -> None:
        self.source = source
        self.base = base
        self.ttl = ttl
        self._cache: dict[str, tuple[float, TenantPolicy]] = {}

    def cached(self, tenant_id: str) -> TenantPolicy | None:
        entry = self._cache.get(tenant_id)
        return entry[1] if entry is not None and time.monotonic() < entry[0] else None

    def load(self, tenant_id: str) -> TenantPolicy:
        policy = policy_of(self.base, self.source(tenant_id))
        self._cache[tenant_id] = (time.monotonic() + self.ttl, policy)
        return policy

    def of(self, tenant_id: str) -> TenantPolicy:
        return self.cached(tenant_id) or self.load(tenant_id)


class Quotas:
    """The checks, against usage (`UsageRecorder`, per day) and what the tenant stores (`UsageRecords`: read
    at most every `ttl` seconds per tenant, since summing the bytes reads every document's text, and counted
    up by this process's own additions in between). Replicas see each other's additions at the next read.
    A use that reaches a share of its quota is told to `notices` (a `quota.near` event)."""

    def __init__(
        self, recorder: UsageRecorder, records: UsageRecords, ttl: float, notices: QuotaNotices | None = None
    ) -> None:
        self.recorder = recorder
        self.records = records
        self.ttl = ttl
        self.notices = notices
        self._stored: dict[str, tuple[float, Stored]] = {}
        self._lock = threading.Lock()

    def check_requests(self, tenant_id: str, policy: TenantPolicy) -> None:
        self._check_daily("requests_per_day", "requests", tenant_id, policy)

    def check_tokens(self, tenant_id: str, policy: TenantPolicy) -> None:
        self._check_daily("tokens_per_day", "tokens", tenant_id, policy)

    def _check_daily(self, name: QuotaName, family: str, tenant_id: str, policy: TenantPolicy) -> None:
        limit = policy.quotas[name]
        if limit is None:
            return
        used = self.recorder.used_today(tenant_id, family)
        self._observe(tenant_id, name, used, limit)
        if used >= limit:
            raise _exceeded(name, limit, used, _seconds_to_midnight())

    def check_storage(self, tenant_id: str, policy: TenantPolicy, *, documents: int = 1) -> None:
        """Before adding `documents` documents (blocking: it may read the store)."""
        count_limit, bytes_limit = policy.quotas["documents"], policy.quotas["stored_bytes"]
        if count_limit is None and bytes_limit is None:
            return
        stored = self._stored_of(tenant_id)
        if count_limit is not None:
            self._observe(tenant_id, "documents", stored.documents + documents, count_limit)
        if bytes_limit is not None:
            self._observe(tenant_id, "stored_bytes", stored.bytes, bytes_limit)
        if count_limit is not None and stored.documents + documents > count_limit:
            raise _exceeded("documents", count_limit, stored.documents, self.ttl)
        if bytes_limit is not None and stored.bytes >= bytes_limit:
            raise _exceeded("stored_bytes", bytes_limit, stored.bytes, self.ttl)

    def _observe(self, tenant_id: str, name: QuotaName, used: int, limit: int) -> None:
        if self.notices is not None:
            self.notices.observe(tenant_id, name, used, limit)

    def _stored_of(self, tenant_id: str) -> Stored:
        with self._lock:
            entry = self._stored.get(tenant_id)
        if entry is not None and time.monotonic() < entry[0]:
            return entry[1]
        stored = self.records.stored(tenant_id)
        with self._lock:
            self._stored[tenant_id] = (time.monotonic() + self.ttl, stored)
        return stored

    def added(self, tenant_id: str, documents: int = 1) -> None:
        """This process stored more documents: counted until the next read of the store (their bytes show
        then), so one process's additions never overshoot the documents quota."""
        with self._lock:
            entry = self._stored.get(tenant_id)
            if entry is not None:
                expires, was = entry
                self._stored[tenant_id] = (expires, Stored(was.documents + documents, was.bytes))


def _exceeded(name: QuotaName, limit: int, used: int, retry_after: float) -> QuotaExceeded:
    return QuotaExceeded(
        f"the tenant's {name.replace('_', ' ')} quota of {limit} is used up",
        retry_after=retry_after,
        details={"name": name, "limit": limit, "used": used},
    )


def _seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return (midnight - now).total_seconds()
