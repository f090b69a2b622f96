"""Wire models of recommendations: related documents, a user's recommendations, and the recommender's versions."""

from __future__ import annotations

from pydantic import BaseModel, Field

from lore.backends.store.trained_models import TrainedModel
from lore.intelligence.recommend.serving import Recommendation, Recommended
from lore.wire.trained_models import TrainedModelOut


class RecommendationOut(BaseModel):
    document_id: str
    title: str
    collection: str
    score: float = Field(description="The blended score it was ranked by (comparable within one list only).")
    reason: str = Field(description='Why it is there: "similar to <title>", "popular this week", ...')

    @classmethod
    def of(cls, item: Recommendation) -> RecommendationOut:
        return cls(
            document_id=item.document_id,
            title=item.title,
            collection=item.collection,
            score=round(item.score, 6),
            reason=item.reason,
        )


class RecommendationsOut(BaseModel):
    items: list[RecommendationOut]
    model_version: int | None = Field(
        description="The recommender version that ranked them (null: the tenant has none fitted yet)."
    )
    model_id: str | None

    @classmethod
    def of(cls, found: Recommended) -> RecommendationsOut:
        model = found.model
        return cls(
            items=[RecommendationOut.of(item) for item in found.items],
            model_version=model.version if model else None,
            model_id=model.id if model else None,
        )


class RecommenderOut(BaseModel):
    """The active version (null: none yet) and the versions kept, newest first."""

    active: TrainedModelOut | None
    versions: list[TrainedModelOut]

    @classmethod
    def of(cls, active: TrainedModel | None, versions: list[TrainedModel]) -> RecommenderOut:
        return cls(
            active=TrainedModelOut.of(active) if active else None,
            versions=[TrainedModelOut.of(model) for model in versions],
        )
