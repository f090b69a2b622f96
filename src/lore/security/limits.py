"""Rate limits per tenant, user, key and client address, as moving windows kept by the `limits` library: in
process memory on the embedded default, in Redis (shared by every replica) when `LORE_REDIS_URL` is set.

    >>> limiter = RateLimiter.from_settings(settings)
    >>> verdict = await limiter.hit(limits_for(principal, policy, address="203.0.113.7"))
    >>> verdict.allowed, verdict.window   # the window closest to running out, for the RateLimit-* headers

Counters are named `<scope>/<tenant>/<id>...` (in Redis under `LORE_RATE_LIMIT_PREFIX`): a tenant's counters
never meet another's. A request
is counted narrowest first (address, then key or user, then tenant) and stops at the first window that is
full, so a request refused for its key uses none of its tenant's allowance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from lore.config import Settings
from lore.security.principal import Principal
from lore.security.quotas import RateName, TenantPolicy

logger = logging.getLogger("lore.limits")

LimitName = RateName | Literal["sign_in"]  # sign-ins are counted per address before any tenant is known


@dataclass(frozen=True, slots=True)
class Limit:
    """One counted allowance: `expression` (a `limits` string, maybe several joined by `;`) over the
    counter named by `identifiers`."""

    name: LimitName
    expression: str
    identifiers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Window:
    """A window's state after the request: what the RateLimit-* headers say."""

    limit: int
    remaining: int
    reset_seconds: float


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    window: Window | None = None  # the window closest to running out (None: no limit applies)
    limited_by: LimitName | None = None  # which limit refused it


def limits_for(principal: Principal, policy: TenantPolicy, address: str | None) -> list[Limit]:
    """The allowances a request of `principal` counts against, narrowest first. A key's own limit (its
    `rate_limit`) wins over the tenant's default for keys; publishable keys are also limited per client
    address, always."""
    tenant, rates = principal.tenant_id, policy.rate_limits
    found: list[Limit] = []
    if principal.kind == "publishable":
        expression = rates["address"]
        if expression:
            found.append(Limit("address", expression, ("address", tenant, principal.id, address or "-")))
    if principal.kind in ("key", "publishable"):
        own = principal.rate_limit or rates["key"]
        if own:
            found.append(Limit("key", own, ("key", tenant, principal.id)))
    elif principal.kind == "user" and rates["user"]:
        found.append(Limit("user", rates["user"] or "", ("user", tenant, principal.id)))
    if principal.kind != "operator" and rates["tenant"]:
        found.append(Limit("tenant", rates["tenant"] or "", ("tenant", tenant)))
    return found


class RateLimiter:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)
        self._items: dict[str, list[RateLimitItem]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        """Redis when `redis_url` is set (its own async client), else this process's memory. Build it inside
        the event loop that will use it."""
        prefix, url = settings.limits.rate_limit_prefix, settings.caches.redis_url
        if url is None:
            return cls(MemoryStorage(wrap_exceptions=True))
        return cls(
            RedisStorage(f"async+{url}", implementation="redispy", key_prefix=prefix, wrap_exceptions=True)
        )

    def items(self, expression: str) -> list[RateLimitItem]:
        """Parsed once per distinct expression (keys share a few)."""
        found = self._items.get(expression)
        if found is None:
            found = self._items[expression] = list(parse_many(expression))
        return found

    async def hit(self, limits: Sequence[Limit]) -> Verdict:
        """Count one request against each limit in turn; the first full window refuses it. If the storage
        cannot be reached the request is let through (and logged): limits must not take the API down."""
        windows: list[Window] = []
        try:
            for limit in limits:
                for item in self.items(limit.expression):
                    allowed = await self.strategy.hit(item, *limit.identifiers)
                    window = await self._window(item, limit.identifiers)
                    if not allowed:
                        return Verdict(False, window, limit.name)
                    windows.append(window)
        except StorageError as error:
            logger.warning("rate limits not applied: storage unavailable (%s)", error.storage_error)
            return Verdict(True)
        return Verdict(True, min(windows, key=_closeness) if windows else None)

    async def _window(self, item: RateLimitItem, ids: tuple[str, ...]) -> Window:
        stats = await self.strategy.get_window_stats(item, *ids)
        return Window(item.amount, max(0, stats.remaining), max(0.0, stats.reset_time - time.time()))

    async def reset(self, limits: Sequence[Limit]) -> None:
        """Empty these windows (an operator lifting a block, a test starting clean)."""
        for limit in limits:
            for item in self.items(limit.expression):
                await self.strategy.clear(item, *limit.identifiers)

    async def close(self) -> None:
        if isinstance(self.storage, RedisStorage) and isinstance(self.storage.bridge, RedispyBridge):
            await self.storage.bridge.storage.aclose()


def _closeness(window: Window) -> tuple[float, float]:
    """Fewest requests left (as a share of the limit) first; of those, the one that frees up last."""
    return (window.remaining / window.limit if window.limit else 0.0, -window.reset_seconds)
