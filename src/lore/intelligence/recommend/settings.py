"""The recommender's fitting and blending parameters, as the settings give them."""

from __future__ import annotations

from lore.config import Settings
from lore.intelligence.recommend.model import FitParams, Weights


def fit_params(settings: Settings) -> FitParams:
    given = settings.intelligence
    return FitParams(
        half_life_days=given.recommend_half_life_days,
        profile_half_life_days=given.recommend_profile_half_life_days,
        ease_lambda=given.recommend_ease_lambda,
        neighbours=given.recommend_neighbours,
        max_items=given.recommend_max_items,
        weights=Weights(
            ease=given.recommend_weight_ease,
            knn=given.recommend_weight_knn,
            popularity=given.recommend_weight_popularity,
            content=given.recommend_weight_content,
            context=given.recommend_weight_context,
        ),
        diversity=given.recommend_diversity,
        related_engagement=given.recommend_related_engagement,
        duplicate_cosine=given.recommend_duplicate_cosine,
    )
