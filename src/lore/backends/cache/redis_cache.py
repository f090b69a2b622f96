"""Caches and content generations in Redis, shared by every replica.

A cache never fails a search: when Redis errs or cannot be reached, the lookup is a miss (counted as an error),
the first failure is logged, and Redis is left alone for `RETRY_SECONDS` so that a dead server costs one
timeout, not one per request. Keys are hashed under a prefix; entries expire, so keys that generations made
unreachable do not pile up.

    >>> link = RedisLink.from_url("redis://127.0.0.1:6379/0", prefix="lore")
    >>> vectors = RedisCache(link, "qv", encode_vector, decode_vector, ttl_seconds=86_400)
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

import redis

from lore.caching import CacheStats

logger = logging.getLogger("lore.cache")

T = TypeVar("T")
V = TypeVar("V")

RETRY_SECONDS = 5.0  # after a failure, Redis is tried again this much later
TIMEOUT_SECONDS = 0.25  # connect and socket timeout: a search must not wait long for a cache
SCAN_BATCH = 1000

# Raise each key to at least its argument (KEYS[i] -> ARGV[i]) in one round trip and atomically.
_RAISE = """
for i, key in ipairs(KEYS) do
  local current = tonumber(redis.call('GET', key) or '0')
  if tonumber(ARGV[i]) > current then redis.call('SET', key, ARGV[i]) end
end
return 0
"""


class _Failed:
    """What `RedisLink.call` returns instead of a value when Redis could not answer."""


FAILED = _Failed()


class RedisLink:
    """One Redis client shared by the caches of a process, with the failure policy above."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._logged = False
        self._raise = client.register_script(_RAISE)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "lore") -> RedisLink:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
        )
        return cls(client, prefix)

    def ping(self) -> dict[str, object]:
        """A round trip to Redis, raising its error (for /readyz, which times it), whatever the failure policy."""
        self.client.ping()
        return {}

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def call(self, operation: Callable[[redis.Redis], T]) -> T | _Failed:
        """The operation's result, or FAILED (logged once per outage) without touching Redis while it is down."""
        if time.monotonic() < self._down_until:
            return FAILED
        try:
            result = operation(self.client)
        except redis.RedisError as error:
            with self._lock:
                self._down_until = time.monotonic() + RETRY_SECONDS
                if not self._logged:
                    self._logged = True
                    logger.warning("redis cache unavailable, searching without it: %s", error)
            return FAILED
        if self._logged:
            with self._lock:
                self._logged = False
                logger.info("redis cache available again")
        return result

    def raise_to(self, keys: Sequence[str], values: Sequence[int]) -> bool:
        return self.call(lambda _client: self._raise(keys=list(keys), args=list(values))) is not FAILED

    def delete_prefix(self, *parts: str) -> bool:
        pattern = self.key(*parts, "*")

        def delete(client: redis.Redis) -> None:
            batch: list[bytes] = []
            for key in client.scan_iter(match=pattern, count=SCAN_BATCH):
                batch.append(key)
                if len(batch) >= SCAN_BATCH:
                    client.delete(*batch)
                    batch.clear()
            if batch:
                client.delete(*batch)

        return self.call(delete) is not FAILED

    def close(self) -> None:
        self.client.close()


class RedisCache(Generic[V]):
    """A `Cache` in Redis: values through a codec, keys hashed (any length of query text fits)."""

    def __init__(
        self,
        link: RedisLink,
        name: str,
        encode: Callable[[V], bytes],
        decode: Callable[[bytes], V],
        *,
        ttl_seconds: int,
    ) -> None:
        self.link = link
        self.name = name
        self.encode = encode
        self.decode = decode
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._hits = self._misses = self._errors = 0

    def _key(self, key: str) -> str:
        return self.link.key(self.name, hashlib.sha256(key.encode()).hexdigest()[:40])

    def get(self, key: str) -> V | None:
        raw = self.link.call(lambda client: client.get(self._key(key)))
        value = None
        if isinstance(raw, bytes):
            value = self._decoded(raw)
        with self._lock:
            self._errors += raw is FAILED
            if value is None:
                self._misses += 1
            else:
                self._hits += 1
        return value

    def _decoded(self, raw: bytes) -> V | None:
        try:
            return self.decode(raw)
        except (ValueError, KeyError, TypeError):  # written by an incompatible version: treat as absent
            return None

    def put(self, key: str, value: V) -> None:
        raw = self.encode(value)
        if self.link.call(lambda client: client.set(self._key(key), raw, ex=self.ttl_seconds)) is FAILED:
            with self._lock:
                self._errors += 1

    def clear(self) -> None:
        self.link.delete_prefix(self.name)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, None, None, self._errors)


class RedisGenerations:
    """`Generations` in Redis: a write raises them once and every replica reads the same numbers. Reads that
    fail return zeros, which the service combines with its own (local) generations."""

    def __init__(self, link: RedisLink, name: str = "gen") -> None:
        self.link = link
        self.name = name

    def read(self, scopes: Sequence[str]) -> list[int]:
        keys = [self.link.key(self.name, scope) for scope in scopes]
        raw = self.link.call(lambda client: client.mget(keys))
        if isinstance(raw, _Failed):
            return [0] * len(scopes)
        return [int(value) if value is not None else 0 for value in raw]

    def raise_to(self, versions: Mapping[str, int]) -> None:
        if versions:
            scopes = sorted(versions)
            keys = [self.link.key(self.name, scope) for scope in scopes]
            self.link.raise_to(keys, [versions[scope] for scope in scopes])

    def clear(self) -> None:
        self.link.delete_prefix(self.name)
