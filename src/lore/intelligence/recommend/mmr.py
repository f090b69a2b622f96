"""Maximal marginal relevance: pick, one at a time, the candidate whose relevance is highest once its cosine to
the nearest item already picked is taken off, so a list does not show five near-identical articles."""

from __future__ import annotations

import numpy as np


def diversify(relevance: np.ndarray, vectors: np.ndarray, k: int, diversity: float) -> np.ndarray:
    """Positions into `relevance` (best first) of `k` picks; `diversity` 0 keeps the relevance order, 1 only
    spreads. `relevance` is scaled to 0..1 first, so the trade-off means the same whatever the scores' range."""
    n = len(relevance)
    if diversity <= 0 or n <= 1:
        return np.argsort(-relevance, kind="stable")[:k]
    span = float(relevance.max() - relevance.min()) or 1.0
    scaled = (relevance - relevance.min()) / span
    nearest = np.full(n, -np.inf)
    picked: list[int] = []
    available = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        redundancy = np.where(np.isfinite(nearest), nearest, 0.0)
        gain = np.where(available, (1 - diversity) * scaled - diversity * redundancy, -np.inf)
        best = int(np.argmax(gain))
        picked.append(best)
        available[best] = False
        nearest = np.maximum(nearest, vectors @ vectors[best])
    return np.array(picked, dtype=np.int64)
