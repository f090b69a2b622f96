"""Leave-one-dataset-out evaluation of fusion rules: how fusion is chosen.

A rule's constants fitted on the sets it is then scored on say nothing about a collection nobody has seen. Here
every fold is scored by the rule fitted on the *other* folds only: `Rule.fit` is handed the training folds'
queries and never a query of the held-out fold. The folds are the shared sets, with a set whose queries carry
`metadata.group` (stackfaq) split into one fold per group and the xquad languages kept together as one fold
(they share paragraphs, so one language would leak into another).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lore.core import fusion
from lore.evaluation.pools import QueryPool

Scorer = Callable[[QueryPool], np.ndarray]  # a query's candidates -> their fused scores
_DISCOUNT = 1.0 / np.log2(np.arange(2, 12))


@dataclass(frozen=True, slots=True)
class Rule:
    """A fusion rule: `fit` turns training queries into a scorer (a fixed rule ignores them)."""

    name: str
    fit: Callable[[Sequence[QueryPool]], Scorer]


def fixed(name: str, scorer: Scorer) -> Rule:
    return Rule(name, lambda _training: scorer)


def fold_of(pool: QueryPool) -> str:
    """`xquad/<lang>` -> `xquad`; a query with a `metadata.group` -> `<set>/<group>`; else the set."""
    family = pool.dataset.split("/", 1)[0]
    if family == "xquad":
        return family
    return pool.dataset if pool.group is None else f"{pool.dataset}/{pool.group}"


def folds(pools: Sequence[QueryPool]) -> dict[str, list[QueryPool]]:
    """The queries of each fold, folds in first-seen order."""
    grouped: dict[str, list[QueryPool]] = {}
    for pool in pools:
        grouped.setdefault(fold_of(pool), []).append(pool)
    return grouped


def candidates(pool: QueryPool) -> list[fusion.Candidate]:
    return [fusion.Candidate(i, v, k) for i, (v, k) in enumerate(zip(pool.vector, pool.keyword, strict=True))]


def ndcg(pool: QueryPool, scores: np.ndarray, k: int = 10) -> float:
    """nDCG@k of the documents in the order of `scores`, each document at its best chunk (as
    `metrics.ndcg_at` scores a `lore eval retrieval` run)."""
    ideal = sorted((g for g in pool.grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    if not idcg or not len(scores):
        return 0.0
    ranked: list[str] = []
    seen: set[str] = set()
    for i in np.argsort(-scores, kind="stable"):
        doc = pool.docs[i]
        if doc not in seen:
            seen.add(doc)
            ranked.append(doc)
            if len(ranked) == k:
                break
    gains = np.array([pool.grades.get(doc, 0) for doc in ranked], dtype=np.float64)
    return float(gains @ _DISCOUNT[: len(gains)]) / idcg


def mean_ndcg(pools: Sequence[QueryPool], scorer: Scorer) -> float:
    """Queries without candidates (empty text) count as misses, as `lore eval retrieval` counts them."""
    total = sum(ndcg(pool, scorer(pool)) for pool in pools if pool.docs)
    return total / len(pools) if pools else 0.0


def leave_one_out(pools: Sequence[QueryPool], rules: Sequence[Rule]) -> dict[str, dict[str, float]]:
    """{fold: {rule: mean nDCG@10 on the fold, with the rule fitted on the other folds}}."""
    grouped = folds(pools)
    table: dict[str, dict[str, float]] = {}
    for held_out, test in grouped.items():
        training = [pool for name, group in grouped.items() if name != held_out for pool in group]
        table[held_out] = {rule.name: mean_ndcg(test, rule.fit(training)) for rule in rules}
    return table


def vector_only(pool: QueryPool) -> np.ndarray:
    return pool.vector


def keyword_only(pool: QueryPool) -> np.ndarray:
    return pool.keyword


def equal_rrf(pool: QueryPool) -> np.ndarray:
    return fusion.reciprocal_rank(candidates(pool))


def default_rule(pool: QueryPool) -> np.ndarray:
    return fusion.fuse(candidates(pool), pool.coverage, pool.floor)


BASELINES = (fixed("keyword", keyword_only), fixed("vector", vector_only), fixed("rrf", equal_rrf))


def run(pools: Sequence[QueryPool], rules: Sequence[Rule]) -> dict[str, object]:
    """`lore eval fusion`'s JSON: per fold, each rule's held-out nDCG@10, and how far the last rule (the one
    being chosen) stands from the better single retriever and from equal-weight RRF, measured before rounding."""
    table = leave_one_out(pools, rules)
    name = rules[-1].name
    grouped = folds(pools)
    rows: list[dict[str, object]] = []
    margins: list[float] = []
    for fold, scores in table.items():
        best_single = max(scores.get("keyword", 0.0), scores.get("vector", 0.0))
        margin = (scores[name] - best_single, scores[name] - scores.get("rrf", scores[name]))
        margins.extend(margin)
        rows.append(
            {
                "fold": fold,
                "queries": len(grouped[fold]),
                **{rule: round(value, 4) for rule, value in scores.items()},
                "vs_best_single": round(margin[0], 4),
                "vs_rrf": round(margin[1], 4),
            }
        )
    worst = min(margins, default=0.0)
    return {"rule": name, "folds": rows, "worst_margin": round(worst, 5), "meets_target": worst >= -0.005}


def ranked_documents(
    pool: QueryPool, scores: np.ndarray, depth: int = 200, only_positive: bool = False
) -> list[str]:
    """The documents of the top `depth` chunks by `scores`, each once at its best chunk: what `lore eval
    retrieval` ranks (keyword search returns only chunks that hold a query term: `only_positive`)."""
    order = [i for i in np.argsort(-scores, kind="stable") if not only_positive or scores[i] > 0][:depth]
    return list(dict.fromkeys(pool.docs[i] for i in order))
