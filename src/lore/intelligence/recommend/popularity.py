"""Popularity with recency decay: each engagement counts 2^(-age / half-life), so what is read now outranks
what was read a year ago."""

from __future__ import annotations

import numpy as np


def decayed_counts(
    items: np.ndarray, ages_days: np.ndarray, n_items: int, half_life_days: float | None
) -> np.ndarray:
    """Per item, the decayed number of engagements (`half_life_days` None: plain counts)."""
    weights = np.ones(len(items)) if half_life_days is None else np.exp2(-ages_days / half_life_days)
    return np.bincount(items, weights=weights, minlength=n_items).astype(np.float32)
