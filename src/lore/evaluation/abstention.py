"""Fit the extractive provider's abstention (`lore.answers.evidence`) on BEIR-layout sets, for one embedding model.

    python -m lore.evaluation.abstention ../shared/data/xquad/en ../shared/data/stackfaq ../shared/data/scifact \
        [--limit 300] [--k 5] [--data-root DIR] [--write]

Each set's corpus is ingested (into `DIR/<set>` when given, reused on later runs; else a temporary dir) and its
first `limit` judged queries are searched (hybrid, top k). Their retrieval evidence is recorded in three cases:
answerable (a gold document among the passages), held out (the same query, its gold documents removed from
its passages: the knowledge base no longer holds the answer) and foreign (the next set's queries asked of this
corpus). A logistic model of the evidence is fitted on all sets, each set weighing the same and answerable
cases as much as unanswerable ones; its threshold minimises the mean of the false-abstention and false-answer
rates. Figures are reported in-sample and leave-one-set-out (fitted on the other sets), and `--write` stores
the model under the embedder's id in `lore/answers/abstention.json`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lore.answers.evidence import CALIBRATION_FILE, FEATURES, Calibration, Evidence, evidence
from lore.config import Settings
from lore.core.retrieve import SearchRequest
from lore.evaluation.datasets import JudgedQuery, judged_queries, load_beir, record_id
from lore.evaluation.metrics import rate
from lore.models import DEFAULT_TENANT
from lore.service import Lore

THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.01), 2)


@dataclass(slots=True)
class Cases:
    """One set's evidence: answerable questions, and unanswerable ones of both kinds."""

    name: str
    answerable: list[Evidence]
    held_out: list[Evidence]
    foreign: list[Evidence]


def collect(
    lore: Lore, name: str, own: Sequence[JudgedQuery], strangers: Sequence[JudgedQuery], k: int
) -> Cases:
    cases = Cases(name, [], [], [])
    for query in own:
        hits = lore.search(SearchRequest(DEFAULT_TENANT, query.text, k + 20))
        passages, others = hits[:k], [hit for hit in hits if record_id(hit) not in query.gold_documents]
        if any(record_id(hit) in query.gold_documents for hit in passages):
            _add(cases.answerable, query.text, passages)
        _add(cases.held_out, query.text, others[:k])
    for query in strangers:
        _add(cases.foreign, query.text, lore.search(SearchRequest(DEFAULT_TENANT, query.text, k)))
    return cases


def _add(into: list[Evidence], question: str, passages: Sequence[Any]) -> None:
    found = evidence(question, passages)
    if found is not None:
        into.append(found)


def fit(sets: Sequence[Cases]) -> Calibration:
    """The logistic model and the threshold that minimise the mean error over the sets."""
    from sklearn.linear_model import LogisticRegression

    rows: list[list[float]] = []
    labels: list[int] = []
    weights: list[float] = []
    for cases in sets:
        negatives = [*cases.held_out, *cases.foreign]
        for group, label in ((cases.answerable, 1), (negatives, 0)):
            rows.extend(item.vector() for item in group)
            labels.extend([label] * len(group))
            weights.extend([1.0 / max(1, len(group))] * len(group))
    model = LogisticRegression(C=10.0, max_iter=1000)
    model.fit(np.array(rows), np.array(labels), sample_weight=np.array(weights) * len(rows))
    weights_ = tuple(round(float(w), 4) for w in model.coef_[0])
    calibration = Calibration(weights_, round(float(model.intercept_[0]), 4), 0.5)
    best = min(THRESHOLDS, key=lambda t: _error(sets, _with_threshold(calibration, float(t))))
    return _with_threshold(calibration, float(best))


def _with_threshold(calibration: Calibration, threshold: float) -> Calibration:
    return Calibration(calibration.weights, calibration.bias, threshold)


def _error(sets: Sequence[Cases], calibration: Calibration) -> float:
    rates = [measure(cases, calibration) for cases in sets]
    return sum((r["false_abstention_rate"] or 0.0) + (r["false_answer_rate"] or 0.0) for r in rates) / len(
        rates
    )


def measure(cases: Cases, calibration: Calibration) -> dict[str, Any]:
    """False abstention on the answerable questions, false answers on the unanswerable ones."""

    def answered(group: list[Evidence]) -> int:
        return sum(calibration.answerable(item) for item in group)

    negatives = [*cases.held_out, *cases.foreign]
    return {
        "answerable": len(cases.answerable),
        "unanswerable": len(negatives),
        "false_abstention_rate": rate(
            len(cases.answerable) - answered(cases.answerable), len(cases.answerable)
        ),
        "false_answer_rate": rate(answered(negatives), len(negatives)),
        "false_answer_held_out": rate(answered(cases.held_out), len(cases.held_out)),
        "false_answer_foreign": rate(answered(cases.foreign), len(cases.foreign)),
    }


def report(sets: Sequence[Cases]) -> dict[str, Any]:
    """The model fitted on every set, its in-sample figures, and each set's figures when left out of the fit."""
    calibration = fit(sets)
    left_out = {}
    for i, cases in enumerate(sets):
        others = [other for j, other in enumerate(sets) if j != i]
        left_out[cases.name] = measure(cases, fit(others)) if others else None
    return {
        "features": list(FEATURES),
        "weights": list(calibration.weights),
        "bias": calibration.bias,
        "threshold": calibration.threshold,
        "in_sample": {cases.name: measure(cases, calibration) for cases in sets},
        "left_out": left_out,
    }


SHIPPED = Path(__file__).resolve().parent.parent / "answers" / CALIBRATION_FILE


def write(model_id: str, result: dict[str, Any], path: Path = SHIPPED) -> Path:
    """Store the model's calibration in the file the extractive provider reads, beside the other models'."""
    stored = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    stored.setdefault("features", list(FEATURES))
    stored.setdefault("models", {})[model_id] = result
    path.write_text(json.dumps(stored, indent=2) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", type=Path, nargs="+")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    loaded = [load_beir(directory) for directory in args.datasets]
    queries = [judged_queries(dataset, {}, args.limit) for dataset in loaded]
    sets, model_id = [], ""
    with tempfile.TemporaryDirectory() as scratch:
        root = args.data_root or Path(scratch)
        for i, dataset in enumerate(loaded):
            with Lore.open(Settings(data_dir=root / dataset.name.replace("/", "-"))) as lore:
                lore.add_corpus(dataset.corpus())
                model_id = _model_id(lore)
                strangers = queries[(i + 1) % len(loaded)]
                sets.append(collect(lore, dataset.name, queries[i], strangers, args.k))
    result = {"model": model_id, "k": args.k, "limit": args.limit, **report(sets)}
    if args.write:
        kept = ("weights", "bias", "threshold", "k", "limit", "in_sample", "left_out")
        write(model_id, {key: result[key] for key in kept})
    print(json.dumps(result, indent=2))


def _model_id(lore: Lore) -> str:
    models = list(lore.models.plan(DEFAULT_TENANT, None))
    return lore.models.embedder_for(models[0]).model_id


if __name__ == "__main__":
    main()
