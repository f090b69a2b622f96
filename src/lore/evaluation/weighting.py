"""Fitting the vector weight of the default rule (`fusion.VECTOR_WEIGHT`) on training queries only.

Each training query's nDCG@10 is computed once at 21 vector weights (0, 0.05 ... 1) of `fusion.combine`; a
weight is scored by interpolating between them, and every weight in steps of 0.001 is tried. The objective is the goal itself, on the training folds: every fold counts equally (xquad's
14,280 questions do not outvote cranfield's 225), and a fold below its target (its better single retriever and
equal-weight RRF, less the 0.005 the rule may lose) costs `SHORTFALL` times what it falls short.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lore.core import fusion
from lore.evaluation import lodo
from lore.evaluation.pools import QueryPool

GRID = np.linspace(0.0, 1.0, 21)
CANDIDATES = np.round(np.linspace(0.0, 1.0, 1001), 3)  # the weights tried: nDCG is flat between them
SHORTFALL = 10.0  # what a point of nDCG below a fold's target costs, against one gained
TOLERANCE = 0.005  # the target: within 0.005 of the better single retriever and of equal-weight RRF
_UTILITIES: dict[tuple[str, str], np.ndarray] = {}  # (set, query id) -> nDCG@10 at each GRID weight


def utilities(pool: QueryPool) -> np.ndarray:
    key = (pool.dataset, pool.id)
    found = _UTILITIES.get(key)
    if found is None:
        found = np.array(
            [lodo.ndcg(pool, fusion.combine(pool.vector, pool.keyword, a, pool.floor)) for a in GRID]
        )
        _UTILITIES[key] = found
    return found


def fit(training: Sequence[QueryPool]) -> float:
    """The vector weight that best meets the target on the training folds (see the module docstring)."""
    used = [pool for pool in training if pool.docs]
    table = np.array([utilities(pool) for pool in used])
    coverage = np.array([pool.coverage for pool in used])
    names = [lodo.fold_of(pool) for pool in used]
    index = {name: i for i, name in enumerate(dict.fromkeys(names))}
    fold = np.array([index[name] for name in names])
    count = np.bincount(fold)
    rrf = np.array([lodo.ndcg(pool, lodo.equal_rrf(pool)) for pool in used])
    sides = [np.bincount(fold, values) / count for values in (table[:, 0], table[:, -1], rrf)]
    target = np.maximum.reduce(sides) - TOLERANCE
    rows = np.arange(len(used))
    steps = len(GRID) - 1

    def loss(weight: float) -> float:
        position = (weight * coverage + fusion.UNCOVERED_WEIGHT * (1.0 - coverage)) * steps
        low = np.minimum(position.astype(int), steps - 1)
        frac = position - low
        gain = table[rows, low] * (1.0 - frac) + table[rows, low + 1] * frac
        per_fold = np.bincount(fold, gain) / count
        return -float(np.mean(per_fold - SHORTFALL * np.maximum(target - per_fold, 0.0)))

    losses = [loss(weight) for weight in CANDIDATES]
    return float(CANDIDATES[int(np.argmin(losses))])  # the lowest of equally good weights


def fitted(name: str = "fitted") -> lodo.Rule:
    """The default rule with its vector weight fitted on the training folds."""

    def fit_rule(training: Sequence[QueryPool]) -> lodo.Scorer:
        weight = fit(training)

        def score(pool: QueryPool) -> np.ndarray:
            return fusion.fuse(lodo.candidates(pool), pool.coverage, pool.floor, weight)

        return score

    return lodo.Rule(name, fit_rule)
