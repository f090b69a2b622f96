"""Hybrid fusion as pure functions over candidates that carry both retrievers' scores.

Every candidate found by either retriever gets both scores (the missing one is computed exactly), so fusion
compares like with like instead of guessing what an absent score means.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


Rule = Callable[[Sequence[Candidate]], np.ndarray]


def _columns(candidates: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([c.vector for c in candidates], dtype=np.float64),
        np.array([c.keyword for c in candidates], dtype=np.float64),
    )


def _max_norm(values: np.ndarray) -> np.ndarray:
    top = values.max(initial=0.0)
    return values / top if top > 0 else values


def _zscore(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def convex(candidates: Sequence[Candidate], alpha: float = 0.5) -> np.ndarray:
    vector, keyword = _columns(candidates)
    return alpha * vector + (1 - alpha) * _max_norm(keyword)


def zsum(candidates: Sequence[Candidate]) -> np.ndarray:
    vector, keyword = _columns(candidates)
    return _zscore(vector) + _zscore(keyword)


def _peak(values: np.ndarray) -> float:
    """How far the best score stands above the rest, in standard deviations."""
    spread = values.std()
    return float((values.max() - values.mean()) / spread) if spread > 0 else 0.0


def peaked(candidates: Sequence[Candidate], power: float = 2.0) -> np.ndarray:
    vector, keyword = _columns(candidates)
    wv, wk = _peak(vector) ** power, _peak(keyword) ** power
    total = wv + wk or 1.0
    return (wv * _zscore(vector) + wk * _zscore(keyword)) / total


RULES: dict[str, Rule] = {
    "rrf": reciprocal_rank,
    "cc.5": convex,
    "cc.7": lambda cs: convex(cs, 0.7),
    "zsum": zsum,
    "peak1": lambda cs: peaked(cs, 1.0),
    "peak2": peaked,
    "peak4": lambda cs: peaked(cs, 4.0),
}


def fuse(candidates: Sequence[Candidate]) -> np.ndarray:
    return RULES["peak2"](candidates)
