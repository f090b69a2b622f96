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


# Fitted by `lore eval fusion` leave-one-dataset-out on the shared sets (docs/evaluation.md#hybrid-fusion): the
# lowest weight that keeps the training folds within 0.005 of their better single retriever. Per-query weights
# from the score distributions and the retrievers' agreement did no better on held-out folds, so it is a constant.
VECTOR_WEIGHT = 0.857
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


def vector_weight(coverage: float = 1.0, weight: float = VECTOR_WEIGHT) -> float:
    """The query's weight of the vector side: the embedding model is trusted only as far as it understands
    the query's language (`coverage`)."""
    return weight * coverage + UNCOVERED_WEIGHT * (1.0 - coverage)


def vector_side(vector: np.ndarray, floor: float | None) -> np.ndarray:
    """The cosines on the embedding model's calibrated scale (0 at its `unrelated_below` floor, 1 for the same
    text), where it has one: an absolute cosine says how sure the model is, so a query whose best passage stands
    far above the floor leans on the vector side and one whose passages all sit near it does not. Min-max (the
    best candidate 1, the worst 0, whatever they are) for a model without a calibrated floor."""
    if floor is None:
        return _min_max(vector)
    return np.clip((vector - floor) / (1.0 - floor), 0.0, 1.0)


def combine(vector: np.ndarray, keyword: np.ndarray, alpha: float, floor: float | None = None) -> np.ndarray:
    """Convex combination of the calibrated cosine (`vector_side`) and max-normalised BM25 (0 stays 0: no
    query term found)."""
    top = keyword.max(initial=0.0)
    return alpha * vector_side(vector, floor) + (1.0 - alpha) * (keyword / top if top > 0 else keyword)


def fuse(
    candidates: Sequence[Candidate],
    coverage: float = 1.0,
    floor: float | None = None,
    weight: float = VECTOR_WEIGHT,
) -> np.ndarray:
    """Convex combination of the calibrated cosine and max-normalised BM25 (`combine`), with the vector weight
    of the query's language coverage (`vector_weight`); `floor` is the embedding model's calibrated
    `unrelated_below`. On the calibrated scale the vector side's pull follows the model's own confidence: a
    query whose passages all sit near the floor leaves the ranking to BM25, one with a passage far above it
    does not."""
    return fuse_columns(*_columns(candidates), coverage, floor, weight)


def fuse_columns(
    vector: np.ndarray,
    keyword: np.ndarray,
    coverage: float = 1.0,
    floor: float | None = None,
    weight: float = VECTOR_WEIGHT,
) -> np.ndarray:
    """`fuse` of candidates given as their two score columns (float64, one row a candidate): what a search
    ranks with, without making a `Candidate` of each."""
    if not len(vector):
        return vector
    return combine(vector, keyword, vector_weight(coverage, weight), floor)
