"""Which query adapter serves which collection, as this process serves it, and the query spaces searches use.

A collection's adapter is the `adapter` model named after it that is active in the store, when it was trained
for the model that embeds the collection now. Each process reads it at most every `adapter_refresh_seconds`
(one indexed read per searched collection), and at once after this process activates or rolls one back: other
processes follow within that interval. A version's matrix never changes, so a read that finds the same version
keeps the loaded matrix.

A search over collections with different adapters embeds the query once per adapter: each collection is
searched with its own tuned query, in a space of its own (`QuerySpace`), and the spaces' rankings are
interleaved by rank, as for collections of different models. The query-vector cache holds the embedder's
vectors, which no adapter changes; the adapted vector (one matrix product) is computed per search, and the
search results are cached under the adapter's version (`QuerySpace.label`), so an activation or a rollback
never meets a stale vector or result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from lore.backends.store.trained_models import TrainedModelRecords
from lore.core.retrieve import QuerySpace
from lore.intelligence.adapter_model import KIND, LinearAdapter
from lore.service.embedding_models import ModelDirectory


class AdapterLookup(Protocol):
    """The adapter a collection's queries go through (None: none), whatever model it was trained for."""

    def active(self, tenant_id: str, collection: str) -> LinearAdapter | None: ...


@dataclass(frozen=True, slots=True)
class _Entry:
    adapter: LinearAdapter | None
    checked_at: float


class QueryAdapters:
    """The active adapter of each (tenant, collection) this process has searched, re-read when it is older than
    `refresh_seconds` or forgotten."""

    def __init__(
        self,
        records: TrainedModelRecords,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._records = records
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def active(self, tenant_id: str, collection: str) -> LinearAdapter | None:
        entry = self._entries.get((tenant_id, collection))
        if entry is not None and self._clock() - entry.checked_at < self._refresh_seconds:
            return entry.adapter
        return self._read(tenant_id, collection, entry)

    def forget(self, tenant_id: str, collection: str) -> None:
        """Read the collection's adapter afresh at its next search (this process changed it)."""
        self._entries.pop((tenant_id, collection), None)

    def clear(self) -> None:
        self._entries.clear()

    def _read(self, tenant_id: str, collection: str, entry: _Entry | None) -> LinearAdapter | None:
        with self._lock:
            checked_at = self._clock()
            record = self._records.active(tenant_id, KIND, collection)
            adapter = entry.adapter if entry is not None else None
            if record is None:
                adapter = None
            elif adapter is None or adapter.id != record.id:
                adapter = LinearAdapter.load(record, self._records.payload(tenant_id, record.id))
            self._entries[(tenant_id, collection)] = _Entry(adapter, checked_at)
            return adapter


class QuerySpaces:
    """The `QueryModels` searches use: each searched collection's model and adapter, and query vectors in them."""

    def __init__(self, models: ModelDirectory, adapters: AdapterLookup) -> None:
        self.models = models
        self.adapters = adapters

    def plan(self, tenant_id: str, collections: Sequence[str] | None) -> dict[QuerySpace, list[str]]:
        spaces: dict[QuerySpace, list[str]] = {}
        for model, names in self.models.plan(tenant_id, collections).items():
            for collection in names:
                adapter = self.adapters.active(tenant_id, collection)
                if adapter is not None and adapter.embedder != model:
                    adapter = None  # trained for the model before a re-embedding: it maps another space
                spaces.setdefault(QuerySpace(model, adapter), []).append(collection)
        return spaces

    def embed_query(self, space: QuerySpace, text: str) -> np.ndarray:
        vector = self.models.embed_query(space.model, text)
        return vector if space.adapter is None else space.adapter.apply(vector)

    def coverage(self, model: str, query: str) -> float:
        return self.models.coverage(model, query)

    def unrelated_below(self, model: str) -> float | None:
        return self.models.unrelated_below(model)


@dataclass(frozen=True, slots=True)
class OnlyAdapter:
    """One adapter for one collection and none elsewhere: how an offline evaluation searches with a candidate
    that is not active."""

    tenant_id: str
    collection: str
    adapter: LinearAdapter | None

    def active(self, tenant_id: str, collection: str) -> LinearAdapter | None:
        return self.adapter if (tenant_id, collection) == (self.tenant_id, self.collection) else None
