"""Caches that count their hits, misses and errors, so /metrics can export every cache's hit rate.

`LRU` is the in-process building block; it also serves as the in-process `Cache`. `Generations` numbers the
content of each tenant and collection: search-result keys include those numbers, so a write makes older results
unreachable everywhere at once instead of clearing anything. Both have Redis implementations in
`lore.backends.cache`, shared by every replica.

    >>> results: Cache[list[Hit]] = LRU(2048)
    >>> get_or_compute(results, key, lambda: retriever.search(request))
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int
    misses: int
    size: int | None  # entries held; None when the cache cannot tell cheaply (a shared server)
    capacity: int | None
    errors: int = 0  # lookups and stores that failed (each failed lookup also counts as a miss)

    @property
    def hit_rate(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class Cache(Protocol[V]):
    """A key-value cache whose failures never reach the caller: a lookup that fails is a miss."""

    def get(self, key: str) -> V | None: ...

    def put(self, key: str, value: V) -> None: ...

    def clear(self) -> None: ...

    def stats(self) -> CacheStats: ...


def get_or_compute(cache: Cache[V], key: str, compute: Callable[[], V]) -> V:
    """The cached value, or `compute()` stored (computed outside any lock: a miss never blocks hits)."""
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.put(key, value)
    return value


class Generations(Protocol):
    """Per-scope content versions: a scope is `tenant/collection`, or `tenant/*` for all of a tenant's
    collections. A version is the store's change number of the newest change applied to that scope, so it
    only grows, and a process whose index has applied that change can serve results for it."""

    def read(self, scopes: Sequence[str]) -> list[int]:
        """The current version of each scope (0 if never written)."""
        ...

    def raise_to(self, versions: Mapping[str, int]) -> None:
        """Raise each scope's version to at least the given number."""
        ...

    def clear(self) -> None: ...


def tenant_scope(tenant_id: str) -> str:
    return f"{tenant_id}/*"  # '*' is not allowed in collection names


def collection_scope(tenant_id: str, collection: str) -> str:
    return f"{tenant_id}/{collection}"


class LRU(Generic[K, V]):
    """A bounded mapping that forgets the least recently used entries; safe to share between threads."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(0, capacity)
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self._misses += 1
                return None
            self._items.move_to_end(key)
            self._hits += 1
            return value

    def put(self, key: K, value: V) -> None:
        if not self.capacity:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def get_many(self, keys: Iterable[K]) -> tuple[dict[K, V], list[K]]:
        """(found, missing) in one lock round."""
        found: dict[K, V] = {}
        missing: list[K] = []
        with self._lock:
            for key in keys:
                value = self._items.get(key)
                if value is None:
                    missing.append(key)
                else:
                    self._items.move_to_end(key)
                    found[key] = value
            self._hits += len(found)
            self._misses += len(missing)
        return found, missing

    def discard(self, keys: Iterable[K]) -> None:
        with self._lock:
            for key in keys:
                self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._items), self.capacity)


class LocalGenerations:
    """`Generations` of one process: raised by the process's own index catching up."""

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()

    def read(self, scopes: Sequence[str]) -> list[int]:
        with self._lock:
            return [self._versions.get(scope, 0) for scope in scopes]

    def raise_to(self, versions: Mapping[str, int]) -> None:
        with self._lock:
            for scope, version in versions.items():
                if version > self._versions.get(scope, 0):
                    self._versions[scope] = version

    def clear(self) -> None:
        with self._lock:
            self._versions.clear()
