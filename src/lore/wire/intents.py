"""The wire shapes of intent classification, intent model versions and intent routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from lore.backends.store.intent_routes import IntentRoute
from lore.intelligence.intents.serving import Classification
from lore.wire.conversations import MAX_QUESTION_CHARS, NO_NUL
from lore.wire.schemas import Input, Name, Tags
from lore.wire.trained_models import TrainedModelOut

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=NO_NUL)]
MAX_REPLY_CHARS = 4000


class ClassifyIn(Input):
    text: Text
    model: Name | None = Field(None, description="The intent model's name (default: `LORE_INTENT_MODEL`).")


class Alternative(BaseModel):
    intent: str
    confidence: float


class ClassificationOut(BaseModel):
    intent: str | None = Field(description="Null when no intent reaches the model's calibrated threshold.")
    confidence: float = Field(description="The best intent's calibrated probability, 0..1.")
    alternatives: list[Alternative] = Field(description="The three likeliest intents, likeliest first.")
    model_version: int
    model_id: str

    @classmethod
    def of(cls, c: Classification) -> ClassificationOut:
        alternatives = [Alternative(intent=intent, confidence=p) for intent, p in c.alternatives]
        return cls(
            intent=c.intent,
            confidence=c.confidence,
            alternatives=alternatives,
            model_version=c.model_version,
            model_id=c.model_id,
        )


class TrainedModelList(BaseModel):
    items: list[TrainedModelOut]


class ShareIn(Input):
    traffic_share: float | None = Field(
        description="Share of requests (0 < share < 1) this candidate serves, stable per end user or "
        "conversation; null stops it serving.",
        gt=0.0,
        lt=1.0,
    )


class RollbackIn(Input):
    name: Name | None = Field(None, description="The intent model's name (default: `LORE_INTENT_MODEL`).")


class IntentRouteIn(Input):
    collection: Name | None = Field(None, description="Search this collection for questions of the intent.")
    tags: Tags = Field(default_factory=list, description="... narrowed to documents with all these tags.")
    reply: (
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_REPLY_CHARS, pattern=NO_NUL)] | None
    ) = Field(None, description="Answer with this text instead of searching.")
    escalate: bool = Field(False, description="Mark the answer `escalate: true`: a human should take over.")


class IntentRouteOut(BaseModel):
    intent: str
    collection: str | None
    tags: list[str]
    reply: str | None
    escalate: bool
    updated_at: datetime

    @classmethod
    def of(cls, route: IntentRoute) -> IntentRouteOut:
        return cls(
            intent=route.intent,
            collection=route.collection,
            tags=route.tags,
            reply=route.reply,
            escalate=route.escalate,
            updated_at=route.updated_at,
        )


class IntentRouteList(BaseModel):
    items: list[IntentRouteOut]


class VersionComparison(BaseModel):
    model_id: str
    version: int
    served: int
    shadowed: int
    labelled: int
    accuracy: float | None


class ComparisonOut(BaseModel):
    name: str
    events: int
    shadowed: int = Field(description="Requests a shadow version also predicted.")
    agreement: float | None = Field(
        description="Share of shadowed requests where both chose the same intent."
    )
    versions: list[VersionComparison]

    @classmethod
    def of(cls, report: dict[str, Any]) -> ComparisonOut:
        return cls.model_validate(report)
