"""Classify a text with a tenant's intent model, as requests see it.

Which version answers: the active one, unless a candidate with a `traffic_share` takes this request — a hash of
the request's key (its end user, else its conversation, else the text) puts the same user or conversation in
the same arm every time. A version in `shadow` predicts beside it; its prediction never reaches the caller, but
both go into the `classified` event, with whether they agree, for `lore intents compare` (recorded like every
server event: buffered, written in batches).

    >>> service.classify("default", "where is my card", caller=Caller("operator"))
    Classification(intent='card_arrival', confidence=0.91, ...)

Versions never change once saved, so a loaded model is cached by id.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lore.backends.store.trained_models import TrainedModel
from lore.errors import Conflict
from lore.intelligence.intents.model import IntentModel, Prediction
from lore.models import Event, utcnow

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.config import Settings
    from lore.intelligence.events import EventRecorder
    from lore.service.embedding_models import ModelDirectory

KIND = "intents"
CACHED_MODELS = 16


class NoActiveModel(Conflict):
    code = "no_active_model"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: the event's actor, the end user and conversation (the stable key of an A/B arm)."""

    actor: str
    user_id: str | None = None
    conversation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Classification:
    intent: str | None  # None: no label reached the model's threshold
    confidence: float
    alternatives: list[tuple[str, float]]
    model_id: str
    model_version: int
    name: str


def arm(models: list[TrainedModel], key: str) -> TrainedModel | None:
    """The candidate whose traffic share this key falls in, or None (the active version serves it)."""
    shares = sorted((m for m in models if m.traffic_share and m.status != "active"), key=lambda m: m.version)
    if not shares:
        return None
    point = int.from_bytes(hashlib.sha256(f"{shares[0].name}\0{key}".encode()).digest()[:8], "big") / 2**64
    for model in shares:
        point -= model.traffic_share or 0.0
        if point < 0:
            return model
    return None


class IntentService:
    """Serving of every tenant's intent models: their payloads, loaded once, and the query embeddings."""

    def __init__(
        self, store: Database, models: ModelDirectory, settings: Settings, events: EventRecorder
    ) -> None:
        self.store = store
        self.models = models
        self.settings = settings
        self.events = events
        self._loaded: OrderedDict[str, IntentModel] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def default_name(self) -> str:
        return self.settings.intelligence.intent_model

    def active(self, tenant_id: str, name: str | None = None) -> TrainedModel | None:
        return self.store.trained_models.active(tenant_id, KIND, name or self.default_name)

    def classify(self, tenant_id: str, text: str, caller: Caller, name: str | None = None) -> Classification:
        """The serving version's prediction (`NoActiveModel` when the model has no active version)."""
        name = name or self.default_name
        serving = self.store.trained_models.serving(tenant_id, KIND, name)
        active = next((m for m in serving if m.status == "active"), None)
        if active is None:
            raise NoActiveModel(
                f"intent model {name!r} has no active version; train one and activate it",
                details={"name": name},
            )
        chosen = arm(serving, caller.user_id or caller.conversation_id or text) or active
        shadow = next((m for m in serving if m.status == "shadow" and m.id != chosen.id), None)
        served = self.predict(chosen, text)
        shadowed = self.predict(shadow, text) if shadow is not None else None
        if self.settings.intelligence.record_classifications:
            self.events.record(_event(tenant_id, text, caller, chosen, served, shadow, shadowed))
        return Classification(
            served.intent, served.confidence, served.alternatives, chosen.id, chosen.version, name
        )

    def predict(self, record: TrainedModel, text: str) -> Prediction:
        model = self.load(record)
        vector = self.models.embed_query(record.embedder or self.models.default.model_id, text)
        return model.predict([text], vector[None, :])[0]

    def load(self, record: TrainedModel) -> IntentModel:
        """The fitted model of a stored version (the caller has read `record` within its tenant)."""
        with self._lock:
            if record.id in self._loaded:
                self._loaded.move_to_end(record.id)
                return self._loaded[record.id]
        model = IntentModel.loads(self.store.trained_models.payload(record.tenant_id, record.id))
        with self._lock:
            self._loaded[record.id] = model
            while len(self._loaded) > CACHED_MODELS:
                self._loaded.popitem(last=False)
        return model


def _event(
    tenant_id: str,
    text: str,
    caller: Caller,
    chosen: TrainedModel,
    served: Prediction,
    shadow: TrainedModel | None,
    shadowed: Prediction | None,
) -> Event:
    data: dict[str, Any] = {
        "model_id": chosen.id,
        "version": chosen.version,
        "intent": served.intent,
        "confidence": served.confidence,
        "shadow": None,
        "agree": None,
    }
    if shadow is not None and shadowed is not None:
        data["shadow"] = {
            "model_id": shadow.id,
            "version": shadow.version,
            "intent": shadowed.intent,
            "confidence": shadowed.confidence,
        }
        data["agree"] = served.alternatives[0][0] == shadowed.alternatives[0][0]
    now = utcnow()
    return Event(
        tenant_id=tenant_id,
        event_id=f"cls_{secrets.token_hex(12)}",
        kind="classified",
        at=now,
        received_at=now,
        actor=caller.actor,
        user_id=caller.user_id,
        conversation_id=caller.conversation_id,
        query=text,
        value=served.confidence,
        data=data,
    )
