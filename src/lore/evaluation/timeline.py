"""The timeline protocol of `lore eval recommendations`: periods cut by time, the users each period asks about,
and how their top 10s are scored (HR@10, NDCG@10 with binary gains, bootstrap intervals over users)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from lore.evaluation.movielens import Ratings
from lore.intelligence.recommend.engagement import Engagement
from lore.intelligence.recommend.ranking import Profile

K = 10
POSITIVE = 4.0
HELD_OUT = 0.2
BOOTSTRAP = 1000
DAY_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class Task:
    """What one period asks: for each user with a positive in it, what they rated before it (rows left out),
    what they engaged with before it (newest first, with its age in days) and what they liked in it."""

    now: datetime
    users: list[str]
    seen: list[np.ndarray]
    engaged: list[np.ndarray]
    ages: list[np.ndarray]
    relevant: list[set[int]]
    engagements: list[Engagement]  # the history's positives, to fit on

    @property
    def warm(self) -> np.ndarray:
        return np.array([len(e) > 0 for e in self.engaged], dtype=bool)

    def profile(self, u: int, half_life_days: float | None) -> Profile:
        return Profile.of(self.engaged[u], self.ages[u], half_life_days)


def cut_time(ratings: Ratings, share: float = HELD_OUT) -> int:
    """The first moment of the last `share` of positives by time."""
    times = ratings.times[ratings.stars >= POSITIVE]
    return int(times[min(len(times) - 1, math.floor((1 - share) * len(times)))])


def task(
    ratings: Ratings, start: int, end: int | None, rows: dict[str, int], document_of: dict[str, str]
) -> Task:
    """Users with a positive in [start, end), against the history before `start`."""
    history = ratings.where(ratings.times < start)
    in_period = (ratings.times >= start) & (ratings.stars >= POSITIVE)
    if end is not None:
        in_period &= ratings.times < end
    seen: dict[str, list[int]] = {}
    engaged: dict[str, dict[int, float]] = {}
    engagements = []
    for user, movie, stars, at in zip(
        history.users, history.movies, history.stars, history.times, strict=True
    ):
        seen.setdefault(user, []).append(rows[movie])
        if stars >= POSITIVE:
            engaged.setdefault(user, {})[rows[movie]] = (start - int(at)) / DAY_SECONDS
            engagements.append(Engagement(user, document_of[movie], datetime.fromtimestamp(int(at), UTC)))
    relevant: dict[str, set[int]] = {}
    period = ratings.where(in_period)
    for user, movie in zip(period.users, period.movies, strict=True):
        relevant.setdefault(user, set()).add(rows[movie])
    users = sorted(relevant)
    newest = [sorted(engaged.get(u, {}).items(), key=lambda pair: pair[1]) for u in users]
    return Task(
        now=datetime.fromtimestamp(start, UTC),
        users=users,
        seen=[np.array(seen.get(u, []), dtype=np.int64) for u in users],
        engaged=[np.array([row for row, _ in pairs], dtype=np.int64) for pairs in newest],
        ages=[np.array([age for _, age in pairs], dtype=np.float64) for pairs in newest],
        relevant=[relevant[u] for u in users],
        engagements=engagements,
    )


@dataclass(frozen=True, slots=True)
class Scores:
    """Per-user NDCG@10 and hits, and every row recommended to someone."""

    ndcg: np.ndarray
    hit: np.ndarray
    recommended: set[int]


def top_rows(scores: np.ndarray, seen: np.ndarray, k: int = K) -> np.ndarray:
    """The `k` best rows, those in `seen` left out."""
    scores = scores.astype(np.float64, copy=True)
    scores[seen] = -np.inf
    best = np.argpartition(-scores, k)[:k]
    return best[np.argsort(-scores[best], kind="stable")]


def score_lists(task: Task, lists: Iterator[np.ndarray]) -> Scores:
    """Each user's top 10 (one list per user, in `task.users` order) against what they liked."""
    ndcg: list[float] = []
    hit: list[float] = []
    recommended: set[int] = set()
    for relevant, top in zip(task.relevant, lists, strict=True):
        gains = [1.0 if int(row) in relevant else 0.0 for row in top[:K]]
        ideal = sum(1 / math.log2(i + 2) for i in range(min(K, len(relevant))))
        ndcg.append(sum(g / math.log2(i + 2) for i, g in enumerate(gains)) / ideal)
        hit.append(float(any(gains)))
        recommended.update(int(row) for row in top[:K])
    return Scores(np.array(ndcg), np.array(hit), recommended)


def interval(values: np.ndarray, seed: int = 0) -> list[float]:
    """Bootstrap 95% interval of the mean over users."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(BOOTSTRAP, len(values)))].mean(axis=1)
    return [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)]


def paired_gap(a: Scores, b: Scores) -> dict[str, object]:
    """NDCG@10 of a minus b, with a paired bootstrap interval (the same users resampled for both)."""
    difference = a.ndcg - b.ndcg
    return {"mean": round(float(difference.mean()), 4), "ci95": interval(difference)}


def summary(task: Task, scores: Scores, catalogue_size: int, params: dict[str, object]) -> dict[str, object]:
    warm = task.warm
    return {
        "ndcg_at_10": round(float(scores.ndcg.mean()), 4),
        "ndcg_at_10_ci95": interval(scores.ndcg),
        "hr_at_10": round(float(scores.hit.mean()), 4),
        "hr_at_10_ci95": interval(scores.hit),
        "coverage": round(len(scores.recommended) / catalogue_size, 4),
        "ndcg_at_10_warm": round(float(scores.ndcg[warm].mean()), 4) if warm.any() else None,
        "ndcg_at_10_cold": round(float(scores.ndcg[~warm].mean()), 4) if (~warm).any() else None,
        "params": params,
    }
