"""Hybrid fusion as pure functions over candidates that carry both retrievers' scores.

Every candidate found by either retriever gets both scores (the missing one is computed exactly), so fusion
compares like with like instead of guessing what an absent score means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Candidate:
    chunk_id: int
    vector: float  # cosine similarity
    keyword: float  # BM25, 0 when no query term occurs


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based rank of each value, best (largest) first."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


def reciprocal_rank(
    candidates: Sequence[Candidate], weights: tuple[float, float] = (1.0, 1.0), k: int = 60
) -> np.ndarray:
    """Weighted reciprocal-rank fusion: sum of w / (k + rank) over the two rankings."""
    vector = np.array([c.vector for c in candidates])
    keyword = np.array([c.keyword for c in candidates])
    return weights[0] / (k + _ranks(vector)) + weights[1] / (k + _ranks(keyword))


# Fitted with bench/fusion_study.py on the shared sets (see docs/evaluation.md).
VECTOR_WEIGHT = 0.8  # the embedding model is the better retriever on paraphrased questions
CONFIDENCE_SLOPE = 1.0  # a higher best cosine earns the vector side more weight
KEYWORD_GAP_SLOPE = 0.5  # a keyword best hit far ahead of the second earns the keyword side more
UNCOVERED_WEIGHT = 0.02  # vector weight for queries in a language the embedding model was not trained on


def relevance(cosine: float | None, unrelated_below: float | None) -> float | None:
    """A hit's relevance on an absolute scale, comparable across queries, unlike the fused score (relative to
    the query's other candidates: the top hit of any query scores near 1): the cosine to the query mapped
    linearly from the embedding model's calibrated `unrelated_below` floor (0: a passage Lore would not answer
    from) to 1 (the same text). None without a cosine or a calibrated floor."""
    if cosine is None or unrelated_below is None:
        return None
    return round(min(1.0, max(0.0, (cosine - unrelated_below) / (1.0 - unrelated_below))), 4)


def _columns(candidates: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
    vector = np.array([c.vector for c in candidates], dtype=np.float64)
    keyword = np.array([c.keyword for c in candidates], dtype=np.float64)
    return vector, keyword


def _min_max(values: np.ndarray) -> np.ndarray:
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def _relative_gap(values: np.ndarray) -> float:
    """How far the best score leads the second, as a share of the best (0 when there is no lead)."""
    if len(values) < 2 or values.max() <= 0:
        return 0.0
    first, second = np.partition(values, -2)[-2:][::-1]
    return float((first - second) / first)


def vector_weight(vector: np.ndarray, keyword: np.ndarray, coverage: float = 1.0) -> float:
    """The query's weight of the vector side: each retriever is trusted as far as its own scores show
    confidence, and the embedding model only as far as it understands the query's language (`coverage`)."""
    weight = (
        VECTOR_WEIGHT + CONFIDENCE_SLOPE * (vector.max() - 0.5) - KEYWORD_GAP_SLOPE * _relative_gap(keyword)
    )
    weight = float(np.clip(weight, 0.05, 0.95))
    return weight * coverage + UNCOVERED_WEIGHT * (1.0 - coverage)


def fuse(candidates: Sequence[Candidate], coverage: float = 1.0) -> np.ndarray:
    """Query-adaptive convex combination of min-max-normalised cosine and max-normalised BM25.

    Equal-weight reciprocal-rank fusion loses badly to the vector side on paraphrased FAQ questions (stackfaq)
    and to the keyword side where the model does not know the language (xquad/zh); this rule stays within noise
    of the better retriever on every shared set and beats both on most.
    """
    vector, keyword = _columns(candidates)
    top = keyword.max(initial=0.0)
    alpha = vector_weight(vector, keyword, coverage)
    return alpha * _min_max(vector) + (1.0 - alpha) * (keyword / top if top > 0 else keyword)
