"""Search results cached under their inputs and the content versions of what they searched.

A version is the change number of the newest change the index applied to a scope (a collection, or a tenant's
whole content). Result keys include the versions, so a write makes older results unreachable in every replica at
once instead of clearing anything; the chunks hits are built from never change, so their cache only forgets
removed ones.

Result keys also include the caller's permission set as it bears on the results: the documents it may not
read, resolved for each search. Callers who may read the same documents share entries (in a tenant without
restricted documents, everyone does), and a change of permissions gives everyone it touches new keys at once,
in every replica, without a version to raise.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from lore.backends.cache import Caches
from lore.caching import LRU, CacheStats, collection_scope, tenant_scope
from lore.core.retrieve import Plan, SearchRequest
from lore.models import NOTHING_HIDDEN, Change, Chunk, Hidden, Hit, split_partition
from lore.service.embedding_models import ModelDirectory


def search_key(request: SearchRequest) -> tuple[object, ...]:
    """Everything that decides a search's hits (JSON keeps 1, true and "1" apart in metadata filters)."""
    filters = request.filters
    metadata = json.dumps(dict(filters.metadata), sort_keys=True)
    collections = None if request.collections is None else tuple(request.collections)
    return (
        request.tenant_id,
        request.query,
        request.k,
        request.mode,
        collections,
        filters.tags,
        metadata,
        filters.document_ids,
    )


def hidden_key(hidden: Hidden) -> str | None:
    """The documents a search may not show, as one short string (None: nothing hidden)."""
    if not hidden:
        return None
    return hashlib.sha256("\n".join(sorted(hidden.documents)).encode()).hexdigest()


def result_key(
    request: SearchRequest,
    spaces: Sequence[str],
    versions: Sequence[int],
    hidden: Hidden = NOTHING_HIDDEN,
) -> str:
    """The cache key of a search: its inputs, the query spaces of the searched collections (their models and
    adapter versions), the content versions of those collections, and what its readers may not see there."""
    parts = [*search_key(request), list(spaces), list(versions), hidden_key(hidden)]
    return json.dumps(parts, ensure_ascii=False)


class SearchCache:
    """Cached results and chunks of one process, with the content versions they are valid for."""

    def __init__(self, caches: Caches, models: ModelDirectory, chunk_capacity: int) -> None:
        self.caches = caches
        self.models = models
        self.chunks: LRU[int, Chunk] = LRU(chunk_capacity)

    def versions(self, request: SearchRequest) -> list[int]:
        """Content versions of what the request searches: its collections, or the whole tenant."""
        tenant = request.tenant_id
        scopes = (
            [tenant_scope(tenant)]
            if request.collections is None
            else [collection_scope(tenant, c) for c in sorted(set(request.collections))]
        ) or [tenant_scope(tenant)]
        local = self.caches.local.read(scopes)
        if self.caches.shared is None:
            return local
        return [max(a, b) for a, b in zip(local, self.caches.shared.read(scopes), strict=True)]

    def key(
        self, request: SearchRequest, plan: Plan, versions: Sequence[int], hidden: Hidden = NOTHING_HIDDEN
    ) -> str:
        """`plan` is the one the search runs with: a new adapter version is a new key at once."""
        return result_key(request, sorted(space.label for space in plan), versions, hidden)

    def get(self, key: str) -> list[Hit] | None:
        return self.caches.search_results.get(key)

    def put(self, key: str, hits: list[Hit], hidden: Hidden = NOTHING_HIDDEN) -> None:
        """Hits showing a document the key hides were filtered by a grant newer than the key (the store's
        queries read permissions as they are when they run): they are answered, never stored under it."""
        if any(hit.chunk.document_id in hidden.documents for hit in hits):
            return
        self.caches.search_results.put(key, hits)

    def record(self, changes: Sequence[Change]) -> None:
        """Raise the versions of the scopes these changes touched (shared ones too, so every replica stops
        reading older results at once) and forget removed chunks. A re-embedding's partition is not searched
        until it switches, so its changes touch no version."""
        versions: dict[str, int] = {}
        removed: list[int] = []
        for change in changes:
            tenant, collection, model = split_partition(change.partition)
            if change.op == "remove":
                removed.append(change.chunk_id)
            elif model == self.models.serving(tenant, collection).pending:
                continue
            for scope in (collection_scope(tenant, collection), tenant_scope(tenant)):
                versions[scope] = max(versions.get(scope, 0), change.seq)
        self.chunks.discard(removed)
        self.caches.local.raise_to(versions)
        if self.caches.shared is not None:
            self.caches.shared.raise_to(versions)

    def clear(self) -> None:
        """Start over: a rebuilt index may number its content lower (a store restored from an older backup)."""
        self.chunks.clear()
        self.caches.search_results.clear()
        self.caches.local.clear()
        if self.caches.shared is not None:
            self.caches.shared.clear()

    def stats(self) -> dict[str, CacheStats]:
        """Every cache by name, for /metrics."""
        return {**self.caches.stats(), "chunks": self.chunks.stats()}

    def close(self) -> None:
        self.caches.close()
