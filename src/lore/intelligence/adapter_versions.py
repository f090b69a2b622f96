"""Which version of its adapter serves a collection: listing, showing, activating (only what helped, unless
forced) and rolling back. The store records the change; the process's `QueryAdapters`, when it has one, applies
it to its next search, and every other process within `adapter_refresh_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lore.backends.store.trained_models import TrainedModel, TrainedModelRecords
from lore.errors import Conflict, NotFound
from lore.intelligence.adapter_model import KIND
from lore.models import SearchMode
from lore.names import check_name
from lore.service.query_adapters import QueryAdapters

if TYPE_CHECKING:
    from lore.service import Lore

MODES: tuple[SearchMode, ...] = ("vector", "hybrid")


def helps(model: TrainedModel, min_gain: float) -> bool:
    """Whether its held-out searches gained more than `min_gain` in vector mode and lost nothing in hybrid."""
    metrics = model.metrics
    if not metrics.get("held_out_queries"):
        return False
    return bool(metrics["vector"]["gain"] > min_gain and metrics["hybrid"]["gain"] >= 0)


def gains(model: TrainedModel) -> dict[str, Any]:
    """Its held-out nDCG@10 gain in each mode (None: not evaluated)."""
    return {mode: (model.metrics.get(mode) or {}).get("gain") for mode in MODES}


@dataclass(frozen=True, slots=True)
class AdapterVersions:
    """A tenant's adapter versions in the store; `serving`: this process's adapters, told of changes at once
    (None in a command that serves no searches)."""

    records: TrainedModelRecords
    min_gain: float
    serving: QueryAdapters | None = None

    @classmethod
    def of(cls, lore: Lore) -> AdapterVersions:
        return cls(lore.store.trained_models, lore.settings.intelligence.adapter_min_gain, lore.adapters)

    def list(self, tenant_id: str, collection: str | None = None) -> list[TrainedModel]:
        """The tenant's adapters (of one collection), by collection, newest version first."""
        if collection is not None:
            check_name("collection", collection)
        return self.records.versions(tenant_id, KIND, collection)

    def show(self, tenant_id: str, collection: str, version: int | None = None) -> TrainedModel:
        """A version of the collection's adapter: the active one unless `version` (`NotFound` if none)."""
        check_name("collection", collection)
        if version is not None:
            return self._version(tenant_id, collection, version)
        active = self.records.active(tenant_id, KIND, collection)
        if active is None:
            raise NotFound(
                f"collection {collection!r} has no active adapter", details={"collection": collection}
            )
        return active

    def activate(
        self, tenant_id: str, collection: str, version: int | None = None, *, force: bool = False
    ) -> TrainedModel:
        """Activate a version (default: the newest); `Conflict` when its held-out searches showed no gain,
        unless `force`."""
        model = self._version(tenant_id, collection, version)
        if not force and not helps(model, self.min_gain):
            raise Conflict(
                "the adapter did not help on its held-out queries; force activation to use it anyway",
                details={
                    "collection": collection,
                    "version": model.version,
                    "min_gain": self.min_gain,
                    **gains(model),
                },
            )
        model = self.records.activate(tenant_id, model.id)
        self._changed(tenant_id, collection)
        return model

    def rollback(self, tenant_id: str, collection: str) -> TrainedModel | None:
        """Reactivate the version active before the current one; if there was none, the collection's searches
        go without an adapter again. Returns the version active now (None: none)."""
        check_name("collection", collection)
        if self.records.active(tenant_id, KIND, collection) is None:
            raise Conflict("the collection has no active adapter", details={"collection": collection})
        try:
            restored: TrainedModel | None = self.records.rollback(tenant_id, KIND, collection)
        except Conflict:  # the first adapter activated: back to none
            self.records.deactivate(tenant_id, KIND, collection)
            restored = None
        self._changed(tenant_id, collection)
        return restored

    def _version(self, tenant_id: str, collection: str, version: int | None) -> TrainedModel:
        found = next((m for m in self.list(tenant_id, collection) if version in (None, m.version)), None)
        if found is None:
            raise NotFound(
                f"no adapter {'' if version is None else f'version {version} '}for collection {collection!r}",
                details={"collection": collection, "version": version},
            )
        return found

    def _changed(self, tenant_id: str, collection: str) -> None:
        if self.serving is not None:
            self.serving.forget(tenant_id, collection)
