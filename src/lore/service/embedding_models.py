"""Which embedding model serves which collection, as this process's index serves it.

A collection's active model changes when a re-embedding switches it. The store records the switch at once, but
this process keeps serving the previous model until its index has applied the change the new partition is
complete at: a search never sees a half-built or half-dropped partition. `IndexSync` moves the directory forward
(`ModelUpdate`) in step with the index.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from lore.caching import Cache, get_or_compute
from lore.config import Settings
from lore.core.probes import MeteredEmbedder, Probes
from lore.interfaces import Embedder, Reembedding, VectorSource
from lore.models import CollectionModels, ServingModels, split_partition

ModelKey = tuple[str, str]  # (tenant, collection)
ModelTable = dict[ModelKey, CollectionModels]
EmbedderFactory = Callable[[Settings, str], Embedder]  # (settings, model id or backend name) -> embedder


@dataclass(frozen=True, slots=True)
class ModelUpdate:
    """The store's recorded models, read at the start of an index sync, against what the process served."""

    previous: ModelTable | None  # None: nothing served yet (start-up or after a rebuild)
    fresh: ModelTable

    def switch_points(self, applied: int, target: int) -> list[int]:
        """Change numbers at which a collection's active model changes, between `applied` and `target`."""
        if self.previous is None:
            return []
        previous = self.previous
        points = {
            models.model_seq
            for key, models in self.fresh.items()
            if applied < models.model_seq <= target
            and previous.get(key, CollectionModels(*key, None)).active != models.active
        }
        return sorted(points)

    def as_of(self, applied: int) -> ModelTable:
        """The store's models, except that a switch the index has not reached yet keeps the previous model."""
        if self.previous is None:
            return self.fresh
        current = {}
        for key, models in self.fresh.items():
            if models.model_seq > applied:
                before = self.previous.get(key, CollectionModels(*key, None))
                models = replace(models, active=before.active, model_seq=before.model_seq)
            current[key] = models
        return current


class ModelDirectory:
    """Embedders by model id (created once per process), each collection's serving models, and which model
    embeds which of a tenant's searched collections."""

    def __init__(
        self,
        settings: Settings,
        default: Embedder,
        reembedding: Reembedding,
        vectors: VectorSource,
        query_vectors: Cache[np.ndarray],
        create_embedder: EmbedderFactory,
        probes: Probes | None = None,
    ) -> None:
        self.settings = settings
        self.probes = probes or Probes()
        self.default: Embedder = MeteredEmbedder(default, self.probes)  # collections without a model use it
        self._reembedding = reembedding
        self._vectors = vectors
        self._query_vectors = query_vectors
        self._create_embedder = create_embedder
        self._embedders: dict[str, Embedder] = {default.model_id: self.default}
        self._lock = threading.Lock()
        self._models: ModelTable | None = None
        self._collections: dict[str, list[str]] | None = None

    # -- embedders ----------------------------------------------------------------------------------------

    def embedder_for(self, model: str) -> Embedder:
        """The embedder of a model id or backend name, created once per process."""
        if model in self._embedders:
            return self._embedders[model]
        with self._lock:
            if model == self.settings.embedding.embedder:
                embedder = self.default
            else:
                embedder = MeteredEmbedder(self._create_embedder(self.settings, model), self.probes)
            embedder = self._embedders.setdefault(embedder.model_id, embedder)
            self._embedders[model] = embedder
            return embedder

    def embed_query(self, model: str, text: str) -> np.ndarray:
        """A query's vector by `model`, cached (read-only: the cache shares it between requests)."""
        return get_or_compute(self._query_vectors, f"{model}\0{text}", lambda: self._embed(model, text))

    def _embed(self, model: str, text: str) -> np.ndarray:
        vector = self.embedder_for(model).embed_query(text)
        vector.flags.writeable = False
        return vector

    def embed_queries(self, model: str, texts: Sequence[str]) -> np.ndarray:
        """Many queries' vectors by `model`, shape (len(texts), dim): those the query cache holds (a question
        searched lately was embedded then) are reused, the others embedded in batches and not cached, since
        past questions that analytics group would only crowd live searches out."""
        embedder = self.embedder_for(model)
        vectors = np.empty((len(texts), embedder.dim), np.float32)
        missing = []
        for row, text in enumerate(texts):
            cached = self._query_vectors.get(f"{model}\0{text}")
            if cached is None:
                missing.append(row)
            else:
                vectors[row] = cached
        if missing:
            vectors[missing] = embedder.embed_queries([texts[row] for row in missing])
        return vectors

    def main_model(self, tenant_id: str) -> str:
        """The model that embeds most of the tenant's collections with vectors (ties: the first by name; none:
        the default): the one its questions are compared in."""
        plan = self.plan(tenant_id, None)
        if not plan:
            return self.default.model_id
        return min(plan, key=lambda model: (-len(plan[model]), model))

    def coverage(self, model: str, query: str) -> float:
        return self.embedder_for(model).coverage(query)

    def unrelated_below(self, model: str) -> float | None:
        return self.embedder_for(model).unrelated_below

    # -- serving models -----------------------------------------------------------------------------------

    def serving(self, tenant_id: str, collection: str) -> ServingModels:
        """A collection's active model and pending one (None unless a re-embedding runs)."""
        table = self._models
        if table is None:
            table = self._models = self._read()
        models = table.get((tenant_id, collection))
        if models is None:
            return ServingModels(self.default.model_id, None)
        return ServingModels(models.active or self.default.model_id, models.pending)

    def plan(self, tenant_id: str, collections: Sequence[str] | None) -> dict[str, list[str]]:
        """Which model embeds which of the searched collections (None: every collection with vectors)."""
        groups: dict[str, list[str]] = {}
        for collection in self.collections(tenant_id) if collections is None else collections:
            groups.setdefault(self.serving(tenant_id, collection).active, []).append(collection)
        return groups

    def collections(self, tenant_id: str) -> list[str]:
        """Collections of a tenant that have vectors of their active model (kept until the index changes)."""
        table = self._collections
        if table is None:
            table = {}
            for partition in self._vectors.partitions():
                tenant, collection, model = split_partition(partition)
                if model == self.serving(tenant, collection).active:
                    table.setdefault(tenant, []).append(collection)
            self._collections = table
        return table.get(tenant_id, [])

    # -- moving forward with the index --------------------------------------------------------------------

    def update(self) -> ModelUpdate:
        """The store's models now, against those served: `IndexSync` applies it switch point by switch point."""
        return ModelUpdate(self._models, self._read())

    def advance(self, update: ModelUpdate, applied: int) -> None:
        """Serve the models as of change `applied`, which the index has reached."""
        self._models = update.as_of(applied)

    def index_changed(self) -> None:
        """Partitions may have appeared or emptied: list the searchable collections afresh."""
        self._collections = None

    def forget(self) -> None:
        """Read everything afresh from the store (a rebuild, or a store restored from a backup)."""
        self._models = None
        self._collections = None

    def recorded(self) -> list[CollectionModels]:
        """Collections with a model recorded in the store, whether this process serves it yet or not."""
        return self._reembedding.collection_models()

    def _read(self) -> ModelTable:
        return {(m.tenant_id, m.collection): m for m in self.recorded()}
