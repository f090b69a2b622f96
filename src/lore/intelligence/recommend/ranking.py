"""Ranking with a fitted `RecommenderModel`: a user's recommendations (the blend) and a document's related
documents, each with the reason it is there.

The blend scales each signal to 0..1 over the candidates and sums them with `Weights`: EASE and item-kNN on the
user's engaged items ("people who read <title> also read this"), decayed popularity ("popular this week"), the
user's content profile, the mean of their engaged items' vectors ("similar to <title>"), and an optional context
vector, an embedded question ("matches your question"). A new user has only popularity and context. What a user
engaged with counts less as it ages (`Profile`): what they read lately says more about what they want next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from lore.intelligence.recommend import collaborative
from lore.intelligence.recommend.mmr import diversify
from lore.intelligence.recommend.model import RecommenderModel, Weights

SIGNALS = ("ease", "knn", "popularity", "content", "context")
POOL = 5  # candidates per pick that diversification chooses from


class Profile(NamedTuple):
    """The rows a user engaged with, and how much each counts now."""

    rows: np.ndarray
    strengths: np.ndarray

    @classmethod
    def of(
        cls, rows: np.ndarray, ages_days: np.ndarray | None = None, half_life_days: float | None = None
    ) -> Profile:
        """Each row counting 2^(-age / half-life) (`half_life_days` None or no ages: all alike)."""
        if ages_days is None or half_life_days is None:
            return cls(rows, np.ones(len(rows), dtype=np.float32))
        return cls(rows, np.exp2(-np.maximum(ages_days, 0) / half_life_days).astype(np.float32))


NOBODY = Profile(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


@dataclass(frozen=True, slots=True)
class Ranked:
    """A recommended document: its row in the model, blended score and reason."""

    index: int
    score: float
    reason: str


def signals(
    model: RecommenderModel, profile: Profile, context: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Each signal's raw score for every document, for a user of this `profile`."""
    n = len(model)
    engaged, strengths = profile
    raw = {
        "ease": collaborative.scores(model.ease, engaged, strengths),
        "knn": collaborative.scores(model.neighbours, engaged, strengths),
        "popularity": model.popularity,
        "content": np.zeros(n, dtype=np.float32),
        "context": np.zeros(n, dtype=np.float32),
    }
    direction = _mean_direction(strengths @ model.vectors[engaged]) if len(engaged) else None
    if direction is not None:
        raw["content"] = model.vectors @ direction
    if context is not None and len(context) == model.vectors.shape[1]:
        raw["context"] = model.vectors @ context
    return raw


def scale(raw: dict[str, np.ndarray], candidates: np.ndarray) -> dict[str, np.ndarray]:
    """Each signal scaled to 0..1 over `candidates` (rows). Cosines are min-max scaled (unrelated documents
    are not at zero); counts and weights are divided by their maximum, negative ones dropped."""
    scaled: dict[str, np.ndarray] = {}
    for name in SIGNALS:
        values = raw[name][candidates].astype(np.float64)
        low, high = (values.min(), values.max()) if len(values) else (0.0, 0.0)
        if name in ("content", "context"):
            scaled[name] = (values - low) / (high - low) if high > low else np.zeros_like(values)
        else:
            scaled[name] = np.clip(values, 0, None) / high if high > 0 else np.zeros_like(values)
    return scaled


def weighted(scaled: dict[str, np.ndarray], weights: Weights) -> dict[str, np.ndarray]:
    return {name: getattr(weights, name) * values for name, values in scaled.items()}


def recommend(
    model: RecommenderModel,
    profile: Profile,
    allowed: np.ndarray,
    k: int,
    context: np.ndarray | None = None,
    weights: Weights | None = None,
    diversity: float | None = None,
) -> list[Ranked]:
    """The `k` best rows among `allowed` (a boolean mask) for a user of this `profile`."""
    params = model.params
    weights = weights or params.weights
    candidates = np.flatnonzero(allowed)
    if not len(candidates) or k < 1:
        return []
    parts = weighted(scale(signals(model, profile, context), candidates), weights)
    total = np.sum(list(parts.values()), axis=0)
    pool = min(len(candidates), max(k * POOL, k))
    best = np.argpartition(-total, pool - 1)[:pool] if pool < len(candidates) else np.arange(len(candidates))
    best = best[np.argsort(-total[best], kind="stable")]
    order = diversify(
        total[best], model.vectors[candidates[best]], k, params.diversity if diversity is None else diversity
    )
    picked = best[order]
    return [
        Ranked(
            int(candidates[p]), float(total[p]), _reason(model, profile, parts, int(p), int(candidates[p]))
        )
        for p in picked
        if total[p] > 0
    ]


def related(
    model: RecommenderModel,
    vector: np.ndarray | None,
    row: int | None,
    allowed: np.ndarray,
    k: int,
    *,
    title: str,
    source: str,
) -> list[Ranked]:
    """Documents like the one titled `title` from `source`, at `row` (None: one the model does not hold yet,
    known by its `vector`): content cosine blended with co-engagement. Near-duplicates of it are left out:
    a cosine at or above the model's `duplicate_cosine`, or the same title or source."""
    params = model.params
    n = len(model)
    cosine = model.vectors @ vector if vector is not None else np.zeros(n, dtype=np.float32)
    together = np.zeros(n, dtype=np.float32)
    if row is not None:
        together = np.asarray(model.neighbours[row].toarray(), dtype=np.float32).ravel()
        if together.max() > 0:
            together /= together.max()
    keep = allowed & (cosine < params.duplicate_cosine) & ~_same_as(model, title, source)
    if row is not None:
        keep[row] = False
    content = (1 - params.related_engagement) * np.clip(cosine, 0, None)
    engagement = params.related_engagement * together
    total = content + engagement
    candidates = np.flatnonzero(keep & (total > 0))
    top = candidates[np.argsort(-total[candidates], kind="stable")][:k]
    return [
        Ranked(int(i), float(total[i]), _also_read(title) if engagement[i] > content[i] else _similar(title))
        for i in top
    ]


def _same_as(model: RecommenderModel, title: str, source: str) -> np.ndarray:
    folded = _folded(title)
    same = [
        (bool(folded) and _folded(other) == folded) or other_source == source
        for other, other_source in zip(model.titles, model.sources, strict=True)
    ]
    return np.array(same, dtype=bool)


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def _reason(
    model: RecommenderModel, profile: Profile, parts: dict[str, np.ndarray], position: int, row: int
) -> str:
    engaged, strengths = profile
    strongest = max(SIGNALS, key=lambda name: parts[name][position])
    if strongest == "context":
        return "matches your question"
    if strongest == "popularity" or not len(engaged):
        return _popular(model.params.half_life_days)
    if strongest == "content":
        nearest = engaged[int(np.argmax(model.vectors[engaged] @ model.vectors[row]))]
        return _similar(model.titles[nearest])
    weights = model.ease if strongest == "ease" else model.neighbours
    pulls = np.asarray(weights[engaged][:, row].toarray()).ravel() * strengths
    source = engaged[int(np.argmax(pulls))]
    return _also_read(model.titles[source])


def _popular(half_life_days: float | None) -> str:
    if half_life_days is not None and half_life_days <= 7:
        return "popular this week"
    if half_life_days is not None and half_life_days <= 31:
        return "popular this month"
    return "popular lately"


def _similar(title: str) -> str:
    return f"similar to {title}"


def _also_read(title: str) -> str:
    return f"people who read {title} also read this"


def _mean_direction(total: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(total))
    return total / norm if norm else None
