"""Where the service's caches live: in process by default, in Redis (shared by every replica) when
`LORE_REDIS_URL` is set. The chunk cache always stays in process: chunks never change, so it needs no sharing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lore.caching import LRU, Cache, CacheStats, Generations, LocalGenerations
from lore.config import Settings
from lore.models import Hit

QUERY_VECTOR_TTL = 7 * 24 * 3600  # embeddings of a query never go stale; the TTL only bounds memory
SEARCH_RESULT_TTL = 3600  # entries that a generation made unreachable expire within the hour


@dataclass
class Caches:
    query_vectors: Cache[np.ndarray]
    search_results: Cache[list[Hit]]
    shared: Generations | None = None  # generations every replica sees; None in process
    local: LocalGenerations = field(default_factory=LocalGenerations)
    closers: list[Callable[[], None]] = field(default_factory=list)
    ping: Callable[[], dict[str, object]] | None = None  # what /readyz asks of Redis, when they live there

    def stats(self) -> dict[str, CacheStats]:
        return {"query_embeddings": self.query_vectors.stats(), "search_results": self.search_results.stats()}

    def close(self) -> None:
        for close in self.closers:
            close()


def open_caches(settings: Settings, *, prefix: str = "lore") -> Caches:
    """Redis caches under `prefix` when a Redis URL is configured, in-process LRUs otherwise."""
    if not settings.caches.redis_url:
        return Caches(LRU(settings.caches.query_cache_size), LRU(settings.caches.search_cache_size))
    from lore.backends.cache import codecs
    from lore.backends.cache.redis_cache import RedisCache, RedisGenerations, RedisLink

    link = RedisLink.from_url(settings.caches.redis_url, prefix=prefix)
    return Caches(
        RedisCache(link, "qv", codecs.encode_vector, codecs.decode_vector, ttl_seconds=QUERY_VECTOR_TTL),
        RedisCache(link, "sr", codecs.encode_hits, codecs.decode_hits, ttl_seconds=SEARCH_RESULT_TTL),
        shared=RedisGenerations(link),
        closers=[link.close],
        ping=link.ping,
    )
