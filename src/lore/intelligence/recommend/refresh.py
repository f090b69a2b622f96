"""Fitting a tenant's recommender from the store, and deciding when to.

`refresh` reads the tenant's documents (with their content vectors) and engagement events, fits a model,
stores it as the next `trained_models` version (kind "recommender"), activates it and deletes versions older
than the few kept; with nothing new since the active version (the same newest event, documents and
parameters) it stores nothing. `RefreshScheduler`, a thread of the server, queues the `refresh_recommender`
job for each tenant whose events or documents moved, at most every `recommend_refresh_seconds` and never a
second one while one is queued.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import Counter
from typing import TYPE_CHECKING, NamedTuple

from lore.backends.store.catalogue import EMPTY
from lore.backends.store.event_records import EventFilters
from lore.backends.store.trained_models import TrainedModel
from lore.intelligence.recommend.engagement import KINDS, engagements
from lore.intelligence.recommend.model import FitParams, fit
from lore.intelligence.recommend.serving import KIND, NAME
from lore.intelligence.recommend.settings import fit_params
from lore.models import utcnow

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.jobs.queue import JobQueue
    from lore.service import Lore

JOB = "refresh_recommender"
logger = logging.getLogger("lore.recommend")


def newest_event(store: Database, tenant_id: str) -> int:
    """The row id of the tenant's newest event a recommender learns from (0: none)."""
    page = store.events.page(tenant_id, 1, filters=EventFilters(kinds=KINDS))
    return page.items[0].id if page.items else 0


class DataState(NamedTuple):
    """What a model was fitted on: the newest event it learnt from, and its documents' signature."""

    watermark: int
    signature: str


def data_state(store: Database, tenant_id: str) -> DataState:
    return DataState(newest_event(store, tenant_id), store.catalogue.signature(tenant_id))


def refresh(lore: Lore, tenant_id: str, params: FitParams | None = None) -> tuple[TrainedModel, bool]:
    """The tenant's active recommender after fitting a new version if anything changed; True if it did."""
    store = lore.store
    params = params or fit_params(lore.settings)
    state = data_state(store, tenant_id)
    embedder = lore.embedder
    described = {**params.as_dict(), **state._asdict(), "embedder": embedder.model_id}
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()
    active = store.trained_models.active(tenant_id, KIND, NAME)
    if active is not None and active.data_hash == digest:
        return active, False
    engaged, _ = engagements(store.events.stream(tenant_id, EventFilters(kinds=KINDS)))
    counts = Counter(e.document_id for e in engaged)
    items = list(store.catalogue.items(tenant_id, embedder.model_id))
    cap = lore.settings.intelligence.recommend_max_documents
    if len(items) > cap:  # keep the most engaged, then the newest ids
        items = sorted(items, key=lambda item: counts[item.document_id], reverse=True)[:cap]
    model = fit(items, engaged, utcnow(), params, embedder.dim)
    model.watermark, model.signature = state
    payload = model.to_bytes()
    metrics = {
        "payload_bytes": len(payload),
        "documents": len(model),
        "engagements": len(engaged),
        "users": len({e.user_id for e in engaged if e.user_id is not None}),
        "weighted_items": int((model.ease.getnnz(axis=1) > 0).sum()),
    }
    record = store.trained_models.save(
        tenant_id,
        KIND,
        NAME,
        payload,
        data_hash=digest,
        embedder=embedder.model_id,
        metrics=metrics,
        params=described,
    )
    record = store.trained_models.activate(tenant_id, record.id)
    _prune(store, tenant_id, lore.settings.intelligence.recommend_keep_versions)
    lore.recommendations.install(tenant_id, record, model)
    return record, True


def _prune(store: Database, tenant_id: str, keep: int) -> None:
    for old in store.trained_models.versions(tenant_id, KIND, NAME)[keep:]:
        if old.status != "active":
            store.trained_models.delete(tenant_id, old.id)


def stale(store: Database, tenant_id: str) -> bool:
    """Whether the tenant's events or documents moved since its active version (or it has none, and
    documents or events to fit one on)."""
    state = data_state(store, tenant_id)
    active = store.trained_models.active(tenant_id, KIND, NAME)
    if active is None:
        return bool(state.watermark) or state.signature != EMPTY
    return any(active.params.get(key) != value for key, value in state._asdict().items())


def queue_if_stale(store: Database, queue: JobQueue, tenant_id: str) -> bool:
    """Queue one refresh for the tenant if it is stale and none is queued; True if one was queued."""
    if queue.records.list_jobs(tenant_id, 1, state="queued", kind=JOB).items:
        return False
    if not stale(store, tenant_id):
        return False
    queue.submit(JOB, {}, tenant_id=tenant_id)
    return True


class RefreshScheduler:
    """Every `interval` seconds, queue a refresh for each enabled tenant that needs one."""

    def __init__(self, store: Database, queue: JobQueue, interval: float) -> None:
        self.store = store
        self.queue = queue
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lore-recommend-refresh", daemon=True)

    def start(self) -> None:
        if self.interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def tick(self) -> int:
        """One pass over the tenants; how many refreshes it queued (a failing tenant is logged and skipped)."""
        queued = 0
        for tenant in self.store.tenants.list():
            if tenant.disabled_at is not None:
                continue
            try:
                queued += queue_if_stale(self.store, self.queue, tenant.id)
            except Exception:
                logger.exception("could not check tenant %s's recommender", tenant.id)
        return queued
