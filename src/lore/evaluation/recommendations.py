"""Offline evaluation of recommendations on a MovieLens-layout set, as `lore eval recommendations` runs it.

Protocol (a global timeline split, so nothing from the future leaks into training):
- positives are ratings >= 4; the last 20% of positives by time are the test period, and everything rated
  before its first moment is training (ratings of any value: lower ones are not recommended again);
- validation is carved from the training period alone: three rolling folds, whose periods run from 60% to 70%,
  70% to 80% and 80% to 100% of the training period's positives, each against the history before it; every
  method's settings are tuned on the mean of the folds' NDCG@10 (popularity's half-life, item-kNN's neighbours,
  EASE's lambda, Lore's blend weights, profile half-life and diversity); then each is refitted on the whole
  training period and scored once;
- test users are those with at least one test positive (new users included: every method falls back to its
  popularity for a user with no training positive, as Lore does); each ranks every catalogue item the user did
  not rate in training; HR@10 and NDCG@10 (binary gains) are averaged over users, with bootstrap 95% intervals
  over users, and catalogue coverage is the share of all documents that appear in some user's top 10.
Movies are documents embedded by Lore's own embedder (title, genres, and tags given before the cut).
"""

from __future__ import annotations

import itertools
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
from lore.evaluation.timeline import (
    DAY_SECONDS,
    POSITIVE,
    K,
    Scores,
    Task,
    cut_time,
    paired_gap,
    score_lists,
    summary,
    task,
    top_rows,
)
from lore.intelligence.recommend import collaborative, ranking
from lore.intelligence.recommend.model import FitParams, RecommenderModel, Weights, fit, user_item_matrix
from lore.intelligence.recommend.popularity import decayed_counts
from lore.models import DEFAULT_TENANT
from lore.service import Lore

FOLDS = (0.6, 0.7, 0.8)  # where the validation periods start, as shares of the training period's positives
HALF_LIVES: tuple[float | None, ...] = (7.0, 30.0, 90.0, 365.0, None)
PROFILE_HALF_LIVES: tuple[float | None, ...] = (90.0, 365.0, 730.0, None)
NEIGHBOURS = (20, 50, 100, 200)
LAMBDAS = (50.0, 200.0, 500.0, 1000.0)
BLEND_GRID = {
    "ease": (0.0, 1.0),
    "knn": (0.0, 0.5, 1.0),
    "popularity": (0.1, 0.25, 0.5, 1.0, 2.0, 4.0),
    "content": (0.0, 0.1, 0.25, 0.5, 1.0),
}
DIVERSITIES = (0.0, 0.05, 0.1, 0.2)
POOL = 200  # per signal, the candidates a blend is tuned over (its top 10 come from their union)
Scorer = Callable[[int], np.ndarray]


def score_scorer(task: Task, scorer: Scorer) -> Scores:
    return score_lists(task, (top_rows(scorer(u), task.seen[u]) for u in range(len(task.users))))


def constant(scores: np.ndarray) -> Scorer:
    """The same scores for every user (popularity)."""
    return lambda u: scores


# --- the baselines ---------------------------------------------------------------------------------------


def popularity(task: Task, position: dict[str, int], half_life: float | None) -> np.ndarray:
    columns = np.array([position[e.document_id] for e in task.engagements], dtype=np.int64)
    ages = np.array([(task.now - e.at).total_seconds() / DAY_SECONDS for e in task.engagements])
    return decayed_counts(columns, ages, len(position), half_life)


def gram(task: Task, position: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """The Gram matrix over every item with a training positive, and those items' rows."""
    columns = np.array([position[e.document_id] for e in task.engagements], dtype=np.int64)
    users = [e.user_id for e in task.engagements]
    x, kept = user_item_matrix(users, columns, len(position), len(position))
    return collaborative.gram(x), kept


def with_fallback(
    task: Task, weights: np.ndarray | sp.csr_matrix, kept: np.ndarray, fallback: np.ndarray
) -> Scorer:
    """X_u W over the kept items; popularity for a user with no training positive, and to break ties."""
    local = np.full(len(fallback), -1, dtype=np.int64)
    local[kept] = np.arange(len(kept))
    tie_break = 1e-9 * fallback / max(float(fallback.max()), 1.0)

    def scorer(u: int) -> np.ndarray:
        engaged = local[task.engaged[u]]
        engaged = engaged[engaged >= 0]
        if not len(engaged):
            return fallback
        scores = np.zeros(len(fallback))
        scores[kept] = np.asarray(weights[engaged].sum(axis=0)).ravel()
        return scores + tie_break

    return scorer


# --- Lore's default --------------------------------------------------------------------------------------


def lore_lists(task: Task, model: RecommenderModel) -> Iterator[np.ndarray]:
    """Each user's top 10 as Lore serves it: `ranking.recommend` with the model's own parameters."""
    for u in range(len(task.users)):
        allowed = np.ones(len(model), dtype=bool)
        allowed[task.seen[u]] = False
        profile = task.profile(u, model.params.profile_half_life_days)
        yield np.array([p.index for p in ranking.recommend(model, profile, allowed, K)], dtype=np.int64)


Pooled = list[tuple[np.ndarray, dict[str, np.ndarray]]]


def pooled(task: Task, model: RecommenderModel, profile_half_life: float | None) -> Pooled:
    """Each user's candidates that could reach a top 10 (the union of each signal's best), with the signals
    scaled as `ranking.recommend` scales them over all of the user's candidates."""
    found = []
    for u in range(len(task.users)):
        allowed = np.ones(len(model), dtype=bool)
        allowed[task.seen[u]] = False
        candidates = np.flatnonzero(allowed)
        scaled = ranking.scale(ranking.signals(model, task.profile(u, profile_half_life)), candidates)
        best = np.unique(np.concatenate([np.argsort(-v, kind="stable")[:POOL] for v in scaled.values()]))
        found.append((candidates[best], {name: values[best] for name, values in scaled.items()}))
    return found


def blended_lists(pools: Pooled, weights: Weights) -> Iterator[np.ndarray]:
    for rows, scaled in pools:
        total = np.sum(list(ranking.weighted(scaled, weights).values()), axis=0)
        yield rows[np.argsort(-total, kind="stable")[:K]]


def tune_lore(
    folds: Sequence[Task], items: Sequence[CatalogueItem], params: FitParams, dim: int
) -> tuple[FitParams, float]:
    """Lore's profile half-life and blend weights (a grid), then its diversity, on the folds; and the folds'
    NDCG@10 with them."""
    models = [fit(items, fold.engagements, fold.now, params, dim) for fold in folds]
    best: tuple[float, FitParams] = (-1.0, params)
    names = list(BLEND_GRID)
    for profile_half_life in PROFILE_HALF_LIVES:
        pools = [pooled(fold, model, profile_half_life) for fold, model in zip(folds, models, strict=True)]
        for values in itertools.product(*BLEND_GRID.values()):
            weights = replace(params.weights, **dict(zip(names, values, strict=True)))
            ndcg = float(
                np.mean(
                    [
                        score_lists(fold, blended_lists(pool, weights)).ndcg.mean()
                        for fold, pool in zip(folds, pools, strict=True)
                    ]
                )
            )
            if ndcg > best[0]:
                best = (ndcg, replace(params, weights=weights, profile_half_life_days=profile_half_life))
    tuned = best[1]

    def with_diversity(diversity: float) -> float:
        scores = []
        for fold, model in zip(folds, models, strict=True):
            model.params = replace(tuned, diversity=diversity)
            scores.append(score_lists(fold, lore_lists(fold, model)).ndcg.mean())
        return float(np.mean(scores))

    diversity = max(DIVERSITIES, key=with_diversity)
    return replace(tuned, diversity=diversity), with_diversity(diversity)


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


def timed(seconds: dict[str, float], name: str) -> Callable[[], None]:
    start = time.perf_counter()

    def done() -> None:
        seconds[name] = round(seconds.get(name, 0.0) + time.perf_counter() - start, 2)

    return done


def validation_folds(
    training: Ratings, end: int, rows: dict[str, int], document_of: dict[str, str]
) -> list[Task]:
    """The rolling folds of the training period (see the module's docstring)."""
    positives = np.sort(training.times[training.stars >= POSITIVE])
    starts = [int(positives[int(share * len(positives))]) for share in FOLDS]
    ends: list[int | None] = [*starts[1:], end]
    return [task(training, start, stop, rows, document_of) for start, stop in zip(starts, ends, strict=True)]


def run(lore: Lore, dataset: MovieLens, base: FitParams) -> dict[str, object]:
    """Ingest the movies, tune every method on the validation folds, score each once on the test period."""
    seconds: dict[str, float] = {}
    cut = cut_time(dataset.ratings)
    done = timed(seconds, "ingest")
    lore.add_corpus(dataset.documents(before=cut))
    done()
    items = list(lore.store.catalogue.items(DEFAULT_TENANT, lore.embedder.model_id))
    position = {item.document_id: i for i, item in enumerate(items)}
    document_of = {source_record(item.source): item.document_id for item in items}
    rows = {movie: position[document] for movie, document in document_of.items()}
    training = dataset.ratings.where(dataset.ratings.times < cut)
    folds = validation_folds(training, cut, rows, document_of)
    test = task(dataset.ratings, cut, None, rows, document_of)
    done = timed(seconds, "tune")
    chosen = tune(folds, items, position, base, lore.embedder.dim)
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
            "validation": "three rolling folds of the training period, from 60%, 70% and 80% of its positives",
            "test_users": "every user with a test positive; candidates exclude what they rated in training",
        },
        "users": {"test": len(test.users), "warm": int(test.warm.sum()), "cold": int((~test.warm).sum())},
        "validation_users": {
            "folds": len(folds),
            "all": sum(len(fold.users) for fold in folds),
            "warm": int(sum(fold.warm.sum() for fold in folds)),
        },
        "catalogue": len(items),
        "test_positives": int(sum(len(r) for r in test.relevant)),
        "methods": {
            name: {
                **summary(test, scores, len(items), params),
                "validation_ndcg_at_10": round(chosen.validation[name], 4),
            }
            for name, (scores, params) in results.items()
        },
        "lore_minus": {
            name: paired_gap(lore_scores, scores) for name, (scores, _) in results.items() if name != "lore"
        },
        "cpu_flags": cpu_flags(),
        "seconds": seconds,
    }


@dataclass(frozen=True, slots=True)
class Chosen:
    """Each method's settings, and its NDCG@10 on the validation folds with them."""

    half_life: float | None
    neighbours: int
    ease_lambda: float
    lore: FitParams
    validation: dict[str, float]


def tune(
    folds: Sequence[Task], items: Sequence[CatalogueItem], position: dict[str, int], base: FitParams, dim: int
) -> Chosen:
    """Every method's settings, by the folds' mean NDCG@10."""
    pops = [{hl: popularity(fold, position, hl) for hl in HALF_LIVES} for fold in folds]

    def popular(hl: float | None) -> float:
        return float(
            np.mean([score_scorer(f, constant(pops[i][hl])).ndcg.mean() for i, f in enumerate(folds)])
        )

    half_life = max(HALF_LIVES, key=popular)
    grams = [gram(fold, position) for fold in folds]

    def collaborative_score(weights_of: Callable[[np.ndarray], np.ndarray | sp.csr_matrix]) -> float:
        scores = []
        for i, fold in enumerate(folds):
            g, kept = grams[i]
            scores.append(score_scorer(fold, with_fallback(fold, weights_of(g), kept, pops[i][half_life])))
        return float(np.mean([s.ndcg.mean() for s in scores]))

    neighbours = max(
        NEIGHBOURS, key=lambda k: collaborative_score(lambda g: collaborative.cosine_neighbours(g, k))
    )
    ease_lambda = max(LAMBDAS, key=lambda lam: collaborative_score(lambda g: collaborative.ease(g, lam)))
    params = replace(base, half_life_days=half_life, ease_lambda=ease_lambda)
    lore, lore_ndcg = tune_lore(folds, items, params, dim)
    validation = {
        "lore": lore_ndcg,
        "popularity": popular(half_life),
        "item_knn": collaborative_score(lambda g: collaborative.cosine_neighbours(g, neighbours)),
        "ease": collaborative_score(lambda g: collaborative.ease(g, ease_lambda)),
    }
    return Chosen(half_life, neighbours, ease_lambda, lore, validation)


def score_all(
    task: Task, items: Sequence[CatalogueItem], position: dict[str, int], chosen: Chosen, dim: int
) -> dict[str, tuple[Scores, dict[str, object]]]:
    """Each method refitted on the whole training period with its chosen settings, scored on the test period."""
    fallback = popularity(task, position, chosen.half_life)
    g, kept = gram(task, position)
    knn = with_fallback(task, collaborative.cosine_neighbours(g, chosen.neighbours), kept, fallback)
    ease = with_fallback(task, collaborative.ease(g, chosen.ease_lambda), kept, fallback)
    model = fit(items, task.engagements, task.now, chosen.lore, dim)
    return {
        "lore": (score_lists(task, lore_lists(task, model)), chosen.lore.as_dict()),
        "popularity": (score_scorer(task, constant(fallback)), {"half_life_days": chosen.half_life}),
        "item_knn": (score_scorer(task, knn), {"neighbours": chosen.neighbours, "fallback": "popularity"}),
        "ease": (score_scorer(task, ease), {"lambda": chosen.ease_lambda, "fallback": "popularity"}),
    }


def render(result: dict[str, Any], console: Console) -> None:
    """The methods as a table, then the protocol, CPU flags and timings."""
    table = Table("method", "NDCG@10", "95% CI", "HR@10", "95% CI", "coverage", "NDCG warm", "NDCG cold")
    for name, row in result["methods"].items():
        table.add_row(
            name,
            *(
                str(row[key])
                for key in (
                    "ndcg_at_10",
                    "ndcg_at_10_ci95",
                    "hr_at_10",
                    "hr_at_10_ci95",
                    "coverage",
                    "ndcg_at_10_warm",
                    "ndcg_at_10_cold",
                )
            ),
        )
    console.print(table)
    for key in ("users", "validation_users", "lore_minus", "cpu_flags", "seconds"):
        console.print(f"{key}: {result[key]}", markup=False)
