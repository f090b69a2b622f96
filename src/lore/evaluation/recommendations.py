"""Offline evaluation of recommendations on a MovieLens-layout set, as `lore eval recommendations` runs it.

Protocol (a global timeline split, so nothing from the future leaks into training):
- positives are ratings >= 4; the last 20% of positives by time are the test period, and everything rated
  before its first moment is training (ratings of any value: lower ones are not recommended again);
- validation is carved the same way from the training period alone (its last 20% of positives), and every
  method's settings are tuned there: popularity's half-life, item-kNN's neighbours, EASE's lambda, and Lore's
  blend weights, half-life and diversity; then each is refitted on the whole training period and scored once;
- test users are those with at least one test positive (new users included: every method falls back to its
  popularity for a user with no training positive, as Lore does); each ranks every catalogue item the user did
  not rate in training; HR@10 and NDCG@10 (binary gains) are averaged over users, with bootstrap 95% intervals
  over users, and catalogue coverage is the share of all documents that appear in some user's top 10.
Movies are documents embedded by Lore's own embedder (title, genres, and tags given before the cut).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from rich.console import Console
from rich.table import Table

from lore.backends.store.catalogue import CatalogueItem
from lore.evaluation.datasets import source_record
from lore.evaluation.movielens import MovieLens, Ratings
from lore.intelligence.recommend import collaborative, ranking
from lore.intelligence.recommend.engagement import Engagement
from lore.intelligence.recommend.model import (
    DAY_SECONDS,
    FitParams,
    RecommenderModel,
    Weights,
    fit,
    user_item_matrix,
)
from lore.intelligence.recommend.popularity import decayed_counts
from lore.models import DEFAULT_TENANT
from lore.service import Lore

K = 10
POSITIVE = 4.0
HELD_OUT = 0.2
BOOTSTRAP = 1000
HALF_LIVES: tuple[float | None, ...] = (7.0, 30.0, 90.0, 365.0, None)
NEIGHBOURS = (20, 50, 100, 200)
LAMBDAS = (50.0, 200.0, 500.0, 1000.0)
BLEND_GRID = {
    "ease": (0.0, 1.0),
    "knn": (0.0, 0.5, 1.0),
    "popularity": (0.1, 0.25, 0.5, 1.0, 2.0, 4.0),
    "content": (0.0, 0.1, 0.25, 0.5, 1.0),
}
DIVERSITIES = (0.0, 0.05, 0.1, 0.2)
Scorer = Callable[[int], np.ndarray]


@dataclass(frozen=True, slots=True)
class Task:
    """What one period asks: for each user with a positive in it, what they rated before (rows to leave
    out), engaged with before (newest first) and liked in it (the relevant rows)."""

    now: datetime
    users: list[str]
    seen: list[np.ndarray]
    engaged: list[np.ndarray]
    relevant: list[set[int]]
    engagements: list[Engagement]  # the history's positives, for fitting

    @property
    def warm(self) -> np.ndarray:
        return np.array([len(e) > 0 for e in self.engaged], dtype=bool)


def cut_time(ratings: Ratings) -> int:
    """The first moment of the last `HELD_OUT` share of positives."""
    times = ratings.times[ratings.stars >= POSITIVE]
    return int(times[min(len(times) - 1, math.floor((1 - HELD_OUT) * len(times)))])


def task(
    ratings: Ratings, start: int, end: int | None, rows: dict[str, int], document_of: dict[str, str]
) -> Task:
    """Users with a positive in [start, end), against the history before `start`."""
    history = ratings.where(ratings.times < start)
    in_period = (ratings.times >= start) & (ratings.stars >= POSITIVE)
    if end is not None:
        in_period &= ratings.times < end
    period = ratings.where(in_period)
    seen: dict[str, list[int]] = {}
    engaged: dict[str, list[int]] = {}
    engagements = []
    for user, movie, stars, at in zip(
        history.users, history.movies, history.stars, history.times, strict=True
    ):
        seen.setdefault(user, []).append(rows[movie])
        if stars >= POSITIVE:
            engaged.setdefault(user, []).append(rows[movie])
            engagements.append(Engagement(user, document_of[movie], datetime.fromtimestamp(int(at), UTC)))
    relevant: dict[str, set[int]] = {}
    for user, movie in zip(period.users, period.movies, strict=True):
        relevant.setdefault(user, set()).add(rows[movie])
    users = sorted(relevant)
    return Task(
        now=datetime.fromtimestamp(start, UTC),
        users=users,
        seen=[np.array(seen.get(u, []), dtype=np.int64) for u in users],
        engaged=[np.array(engaged.get(u, [])[::-1], dtype=np.int64) for u in users],
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
    scores = scores.astype(np.float64, copy=True)
    scores[seen] = -np.inf
    best = np.argpartition(-scores, k)[:k]
    return best[np.argsort(-scores[best], kind="stable")]


def score_lists(task: Task, lists: Iterator[np.ndarray]) -> Scores:
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


def score_scorer(task: Task, scorer: Scorer) -> Scores:
    return score_lists(task, (top_rows(scorer(u), task.seen[u]) for u in range(len(task.users))))


# --- the baselines ---------------------------------------------------------------------------------------


def _columns(task: Task, position: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    columns = np.array([position[e.document_id] for e in task.engagements], dtype=np.int64)
    ages = np.array([(task.now - e.at).total_seconds() / DAY_SECONDS for e in task.engagements])
    return columns, ages


def popularity(task: Task, position: dict[str, int], half_life: float | None) -> np.ndarray:
    columns, ages = _columns(task, position)
    return decayed_counts(columns, ages, len(position), half_life)


def item_weights(task: Task, position: dict[str, int]) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    """The Gram matrix over every item with a training positive, those items' rows, and the users' matrix."""
    columns, _ = _columns(task, position)
    x, kept = user_item_matrix([e.user_id for e in task.engagements], columns, len(position), len(position))
    return collaborative.gram(x), kept, x


def with_fallback(
    task: Task, weights: np.ndarray | sp.csr_matrix, kept: np.ndarray, fallback: np.ndarray
) -> Scorer:
    """Scores X_u W over the kept items, popularity for a user with no training positive."""
    local = np.full(len(fallback), -1, dtype=np.int64)
    local[kept] = np.arange(len(kept))

    def scorer(u: int) -> np.ndarray:
        engaged = local[task.engaged[u]]
        engaged = engaged[engaged >= 0]
        if not len(engaged):
            return fallback
        scores = np.zeros(len(fallback))
        scores[kept] = np.asarray(weights[engaged].sum(axis=0)).ravel()
        return scores + 1e-9 * fallback / max(float(fallback.max()), 1.0)  # ties: the more popular first

    return scorer


# --- Lore's default --------------------------------------------------------------------------------------


def lore_model(task: Task, items: Sequence[CatalogueItem], params: FitParams, dim: int) -> RecommenderModel:
    return fit(items, task.engagements, task.now, params, dim)


def lore_lists(task: Task, model: RecommenderModel, params: FitParams) -> Iterator[np.ndarray]:
    everything = np.ones(len(model), dtype=bool)
    for u in range(len(task.users)):
        allowed = everything.copy()
        allowed[task.seen[u]] = False
        picked = ranking.recommend(
            model, task.engaged[u], allowed, K, weights=params.weights, diversity=params.diversity
        )
        yield np.array([p.index for p in picked], dtype=np.int64)


def tune_blend(task: Task, model: RecommenderModel) -> tuple[Weights, float]:
    """The blend weights with the best NDCG@10 on `task` (a grid; the signals are scaled once per user)."""
    everything = np.ones(len(model), dtype=bool)
    scaled = []
    for u in range(len(task.users)):
        allowed = everything.copy()
        allowed[task.seen[u]] = False
        candidates = np.flatnonzero(allowed)
        scaled.append((candidates, ranking.scale(ranking.signals(model, task.engaged[u]), candidates)))
    best, best_ndcg = Weights(), -1.0
    names = list(BLEND_GRID)
    for values in itertools.product(*BLEND_GRID.values()):
        weights = Weights(**dict(zip(names, values, strict=True)), context=0.0)
        lists = (
            candidates[
                np.argsort(-np.sum(list(ranking.weighted(parts, weights).values()), axis=0), kind="stable")[
                    :K
                ]
            ]
            for candidates, parts in scaled
        )
        ndcg = float(score_lists(task, lists).ndcg.mean())
        if ndcg > best_ndcg:
            best, best_ndcg = weights, ndcg
    return best, best_ndcg


# --- reporting -------------------------------------------------------------------------------------------


def interval(values: np.ndarray, seed: int = 0) -> list[float]:
    """Bootstrap 95% interval of the mean over users."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(BOOTSTRAP, len(values)))].mean(axis=1)
    return [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)]


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


def paired_gap(a: Scores, b: Scores) -> dict[str, object]:
    """NDCG@10 of a minus b, with a paired bootstrap interval (the same users resampled for both)."""
    difference = a.ndcg - b.ndcg
    return {"mean": round(float(difference.mean()), 4), "ci95": interval(difference)}


def timed(seconds: dict[str, float], name: str) -> Callable[[], None]:
    start = time.perf_counter()

    def done() -> None:
        seconds[name] = round(seconds.get(name, 0.0) + time.perf_counter() - start, 2)

    return done


# --- the run ---------------------------------------------------------------------------------------------

CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8")


def cpu_flags() -> list[str]:
    """Which of the instruction sets that change Lore's speed this CPU has."""
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as handle:
            line = next((line for line in handle if line.startswith("flags")), "")
    except OSError:
        return []
    flags = set(line.partition(":")[2].split())
    return [flag for flag in CPU_FLAGS if flag in flags]


def run(lore: Lore, dataset: MovieLens, base: FitParams) -> dict[str, object]:
    """Ingest the movies, tune every method on validation, score each once on the test period."""
    seconds: dict[str, float] = {}
    cut = cut_time(dataset.ratings)
    training = dataset.ratings.where(dataset.ratings.times < cut)
    done = timed(seconds, "ingest")
    lore.add_corpus(dataset.documents(before=cut))
    done()
    items = list(lore.store.catalogue.items(DEFAULT_TENANT, lore.embedder.model_id))
    position = {item.document_id: i for i, item in enumerate(items)}
    document_of = {source_record(item.source): item.document_id for item in items}
    rows = {movie: position[document] for movie, document in document_of.items()}
    validation = task(training, cut_time(training), cut, rows, document_of)
    test = task(dataset.ratings, cut, None, rows, document_of)
    done = timed(seconds, "tune")
    chosen = tune(validation, items, position, base, lore.embedder.dim)
    done()
    done = timed(seconds, "test")
    results = score_all(test, items, position, chosen, lore.embedder.dim)
    done()
    lore_scores = results["lore"][0]
    return {
        "dataset": dataset.name,
        "protocol": {
            "split": "global timeline: the last 20% of positives (rating >= 4) by time are the test period",
            "cut": datetime.fromtimestamp(cut, UTC).isoformat(),
            "validation_cut": validation.now.isoformat(),
            "test_users": "every user with a test positive; candidates exclude what they rated in training",
        },
        "users": {"test": len(test.users), "warm": int(test.warm.sum()), "cold": int((~test.warm).sum())},
        "validation_users": {"all": len(validation.users), "warm": int(validation.warm.sum())},
        "catalogue": len(items),
        "test_positives": int(sum(len(r) for r in test.relevant)),
        "methods": {
            name: summary(test, scores, len(items), params) for name, (scores, params) in results.items()
        },
        "lore_minus": {
            name: paired_gap(lore_scores, scores) for name, (scores, _) in results.items() if name != "lore"
        },
        "cpu_flags": cpu_flags(),
        "seconds": seconds,
    }


@dataclass(frozen=True, slots=True)
class Chosen:
    half_life: float | None
    neighbours: int
    ease_lambda: float
    lore: FitParams


def tune(
    task: Task, items: Sequence[CatalogueItem], position: dict[str, int], base: FitParams, dim: int
) -> Chosen:
    """Every method's settings, by NDCG@10 on the validation period."""
    pops = {hl: popularity(task, position, hl) for hl in HALF_LIVES}
    half_life = max(HALF_LIVES, key=lambda hl: score_scorer(task, lambda u: pops[hl]).ndcg.mean())
    fallback = pops[half_life]
    g, kept, _ = item_weights(task, position)
    neighbours = max(
        NEIGHBOURS,
        key=lambda k: score_scorer(
            task, with_fallback(task, collaborative.cosine_neighbours(g, k), kept, fallback)
        ).ndcg.mean(),
    )
    ease_lambda = max(
        LAMBDAS,
        key=lambda lam: score_scorer(
            task, with_fallback(task, collaborative.ease(g, lam), kept, fallback)
        ).ndcg.mean(),
    )
    best: tuple[float, FitParams] = (-1.0, base)
    for hl in HALF_LIVES:
        params = replace(base, half_life_days=hl, ease_lambda=ease_lambda, diversity=0.0)
        weights, ndcg = tune_blend(task, lore_model(task, items, params, dim))
        if ndcg > best[0]:
            best = (ndcg, replace(params, weights=weights))
    params = best[1]
    model = lore_model(task, items, params, dim)
    diversity = max(
        DIVERSITIES,
        key=lambda d: score_lists(task, lore_lists(task, model, replace(params, diversity=d))).ndcg.mean(),
    )
    return Chosen(half_life, neighbours, ease_lambda, replace(params, diversity=diversity))


def score_all(
    task: Task, items: Sequence[CatalogueItem], position: dict[str, int], chosen: Chosen, dim: int
) -> dict[str, tuple[Scores, dict[str, object]]]:
    """Each method refitted on the whole training period with its chosen settings, scored on the test period."""
    fallback = popularity(task, position, chosen.half_life)
    g, kept, _ = item_weights(task, position)
    knn = with_fallback(task, collaborative.cosine_neighbours(g, chosen.neighbours), kept, fallback)
    ease = with_fallback(task, collaborative.ease(g, chosen.ease_lambda), kept, fallback)
    model = lore_model(task, items, chosen.lore, dim)
    return {
        "lore": (score_lists(task, lore_lists(task, model, chosen.lore)), chosen.lore.as_dict()),
        "popularity": (score_scorer(task, lambda u: fallback), {"half_life_days": chosen.half_life}),
        "item_knn": (score_scorer(task, knn), {"neighbours": chosen.neighbours, "fallback": "popularity"}),
        "ease": (score_scorer(task, ease), {"lambda": chosen.ease_lambda, "fallback": "popularity"}),
    }


def render(result: dict[str, Any], console: Console) -> None:
    """The methods as a table, then the protocol, CPU flags and timings."""
    table = Table("method", "NDCG@10", "95% CI", "HR@10", "95% CI", "coverage", "NDCG warm", "NDCG cold")
    for name, row in result["methods"].items():
        table.add_row(
            name,
            str(row["ndcg_at_10"]),
            str(row["ndcg_at_10_ci95"]),
            str(row["hr_at_10"]),
            str(row["hr_at_10_ci95"]),
            str(row["coverage"]),
            str(row["ndcg_at_10_warm"]),
            str(row["ndcg_at_10_cold"]),
        )
    console.print(table)
    for key in ("users", "lore_minus", "cpu_flags", "seconds"):
        console.print(f"{key}: {result[key]}", markup=False)
