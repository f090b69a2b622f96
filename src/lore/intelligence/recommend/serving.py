"""`Recommendations`: each tenant's active recommender, held in memory, and the requests served from it.

Requests never wait for a fit: they use the model in memory (a tenant without one yet gets nothing, and a
refresh is on its way; see `refresh`). Every few seconds a request also checks which version is active, so a
version fitted by a worker on another machine is picked up. A user's own events are read per request, so what
they just read or rejected counts at once. Whatever the caller may not read (restricted documents, other
collections, documents deleted since the fit) never comes back: the candidates are masked, and each pick is
read again from the store with the caller's readers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from lore.backends.store.access_records import no_document
from lore.backends.store.event_records import EventFilters
from lore.backends.store.trained_models import TrainedModel
from lore.config import Settings
from lore.intelligence.recommend import ranking
from lore.intelligence.recommend.engagement import KINDS, History
from lore.intelligence.recommend.model import RecommenderModel
from lore.models import Readers, utcnow
from lore.service.visibility import Visibility

if TYPE_CHECKING:
    from lore.backends.store.database import Database

KIND = "recommender"
NAME = "default"
CHECK_SECONDS = 5.0  # how often a request looks for a newer active version
OVERFETCH = 2  # picks ranked per one returned, for those the store then refuses


def _profile(model: RecommenderModel, history: History) -> ranking.Profile:
    known = [d for d in history.engaged if d in model.position]
    ages = np.array(history.ages_days(known, utcnow()))
    return ranking.Profile.of(model.indices(known), ages, model.params.profile_half_life_days)


class QueryEmbedder(Protocol):
    def embed_query(self, model: str, text: str) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Recommendation:
    document_id: str
    title: str
    collection: str
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class Recommended:
    """The picks, and the model version that made them (None: the tenant has no model yet)."""

    items: list[Recommendation]
    model: TrainedModel | None


@dataclass(slots=True)
class _Held:
    record: TrainedModel | None
    model: RecommenderModel | None
    checked: float


class Recommendations:
    def __init__(
        self, store: Database, visibility: Visibility, embedder: QueryEmbedder, settings: Settings
    ) -> None:
        self.store = store
        self.visibility = visibility
        self.embedder = embedder
        self.settings = settings.intelligence
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()

    # -- models -----------------------------------------------------------------------------------------------

    def current(self, tenant_id: str) -> tuple[TrainedModel | None, RecommenderModel | None]:
        """The tenant's active version and its model, loaded again when another version became active."""
        with self._lock:
            held = self._held.get(tenant_id)
        if held is not None and time.monotonic() - held.checked < CHECK_SECONDS:
            return held.record, held.model
        record = self.store.trained_models.active(tenant_id, KIND, NAME)
        if (
            held is not None
            and held.record is not None
            and record is not None
            and held.record.id == record.id
        ):
            held.checked = time.monotonic()
            return held.record, held.model
        model = None
        if record is not None:
            model = RecommenderModel.from_bytes(self.store.trained_models.payload(tenant_id, record.id))
        self.install(tenant_id, record, model)
        return record, model

    def install(self, tenant_id: str, record: TrainedModel | None, model: RecommenderModel | None) -> None:
        """Serve this version from now on (a refresh in this process hands it over without a reload)."""
        with self._lock:
            self._held[tenant_id] = _Held(record, model, time.monotonic())

    # -- requests ---------------------------------------------------------------------------------------------

    def for_user(
        self,
        tenant_id: str,
        user_id: str,
        *,
        k: int,
        readers: Readers,
        collections: Sequence[str] | None,
        context: str | None = None,
    ) -> Recommended:
        """A user's recommendations, optionally for a question or text they are on (`context`)."""
        record, model = self.current(tenant_id)
        if model is None or record is None:
            return Recommended([], record)
        history = self._history(tenant_id, user_id)
        allowed = self._allowed(model, tenant_id, readers, collections)
        left_out = history.rejected | (history.seen if self.settings.recommend_exclude_engaged else set())
        allowed[model.indices(sorted(left_out))] = False
        vector = None
        if context and context.strip() and record.embedder:
            vector = self.embedder.embed_query(record.embedder, context)
        picks = ranking.recommend(model, _profile(model, history), allowed, k * OVERFETCH, context=vector)
        return Recommended(self._readable(model, picks, tenant_id, readers, k), record)

    def related(
        self,
        tenant_id: str,
        document_id: str,
        *,
        k: int,
        readers: Readers,
        collections: Sequence[str] | None,
    ) -> Recommended:
        """Documents related to one the caller may read (`NotFound` otherwise)."""
        document = self.store.documents.get_document(tenant_id, document_id, readers=readers)
        if document is None or (collections is not None and document.collection not in collections):
            raise no_document(document_id)
        record, model = self.current(tenant_id)
        if model is None or record is None:
            return Recommended([], record)
        row = model.position.get(document_id)
        if row is not None and model.has_vector[row]:
            vector: np.ndarray | None = model.vectors[row]
        else:  # newer than the model: its vector from the store
            vector = self.store.catalogue.vectors(tenant_id, record.embedder or "", [document_id]).get(
                document_id
            )
        allowed = self._allowed(model, tenant_id, readers, collections)
        picks = ranking.related(
            model, vector, row, allowed, k * OVERFETCH, title=document.title, source=document.source
        )
        return Recommended(self._readable(model, picks, tenant_id, readers, k), record)

    def _history(self, tenant_id: str, user_id: str) -> History:
        filters = EventFilters(kinds=KINDS, user_id=user_id)
        page = self.store.events.page(tenant_id, self.settings.recommend_history_events, filters=filters)
        return History.of(page.items)

    def _allowed(
        self, model: RecommenderModel, tenant_id: str, readers: Readers, collections: Sequence[str] | None
    ) -> np.ndarray:
        allowed = np.ones(len(model), dtype=bool)
        if collections is not None:
            allowed &= np.isin(model.collections, list(collections))
        hidden = self.visibility.hidden(tenant_id, readers, collections)
        allowed[model.indices(sorted(hidden.documents))] = False
        return allowed

    def _readable(
        self, model: RecommenderModel, picks: list[ranking.Ranked], tenant_id: str, readers: Readers, k: int
    ) -> list[Recommendation]:
        """The first `k` picks the store still holds and lets `readers` read, with their current titles."""
        found: list[Recommendation] = []
        for pick in picks:
            document = self.store.documents.get_document(tenant_id, model.ids[pick.index], readers=readers)
            if document is not None:
                found.append(
                    Recommendation(document.id, document.title, document.collection, pick.score, pick.reason)
                )
            if len(found) == k:
                break
        return found
