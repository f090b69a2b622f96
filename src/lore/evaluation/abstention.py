"""Measure the extractive provider on a BEIR-layout set, and the numbers its abstention threshold rests on.

    python -m lore.evaluation.abstention ../shared/data/xquad/en [--k 5] [--limit N]

The corpus is ingested into a temporary data dir and every judged query is searched (hybrid, top k). Reported:
how often a gold document is among the passages; answer recall (a gold answer span is in the answer, matched
as `lore.evaluation.metrics.contains_answer` does) when it is; citation accuracy (an answered query cites a gold
document); abstention on the query's own passages, on another query's passages ("unrelated") and on its
passages with the gold documents removed ("gold removed"); and how those rates move with the threshold.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lore.answers import extractive
from lore.answers.citations import cite
from lore.answers.types import AnswerRequest
from lore.config import Settings
from lore.core.retrieve import SearchRequest
from lore.evaluation.datasets import JudgedQuery, gold_answers, judged_queries, load_beir, record_id
from lore.evaluation.metrics import contains_answer, percentile_ms, rate
from lore.models import DEFAULT_TENANT, Hit
from lore.service import Lore

THRESHOLDS = (0.25, 0.34, 0.4, 0.5, 0.6, 0.67, 0.75)


@dataclass(slots=True)
class Case:
    query: JudgedQuery
    passages: list[Hit]
    without_gold: list[Hit]


def build_cases(lore: Lore, directory: Path, k: int, limit: int | None) -> list[Case]:
    dataset = load_beir(directory)
    lore.add_corpus(dataset.corpus())
    cases = []
    for query in judged_queries(dataset, gold_answers(directory), limit):
        hits = lore.search(SearchRequest(DEFAULT_TENANT, query.text, k=k + 10))
        others = [hit for hit in hits if record_id(hit) not in query.gold_documents]
        cases.append(Case(query, hits[:k], others[:k]))
    return cases


@dataclass(slots=True)
class Row:
    """One question's outcome, and the best relevance the extractive provider saw in the contrast sets."""

    case: Case
    ranked: list[extractive.Scored]
    chosen: list[extractive.Scored]
    unrelated: list[extractive.Scored] | None  # None: the other question shares a gold document
    gold_removed: list[extractive.Scored]

    @property
    def gold_in_passages(self) -> bool:
        return any(record_id(hit) in self.case.query.gold_documents for hit in self.case.passages)

    @property
    def recalled(self) -> bool:
        text = " ".join(item.sentence.text for item in self.chosen)
        return bool(self.chosen) and contains_answer(text, self.case.query.gold_answers)

    @property
    def cites_gold(self) -> bool:
        text = " ".join(f"{item.sentence.text} [{item.sentence.passage}]" for item in self.chosen)
        cited = cite(text, self.case.passages)
        gold = self.case.query.gold_documents
        return any(record_id(self.case.passages[c.marker - 1]) in gold for c in cited)


def run(cases: Sequence[Case], seed: int = 0) -> dict[str, object]:
    offset = random.Random(seed).randrange(1, len(cases)) if len(cases) > 1 else 0
    strangers = [*cases[offset:], *cases[:offset]]  # a rotation: no question is paired with itself
    rows, seconds = [], []
    for case, stranger in zip(cases, strangers, strict=True):
        start = time.perf_counter()
        ranked = extractive.rank(AnswerRequest(case.query.text, case.passages))
        chosen = extractive.select(ranked)
        seconds.append(time.perf_counter() - start)
        shared = case.query.gold_documents & stranger.query.gold_documents
        unrelated = None if shared else _ranked(case.query.text, stranger.passages)
        rows.append(Row(case, ranked, chosen, unrelated, _ranked(case.query.text, case.without_gold)))
    return _summary(rows, seconds)


def _ranked(question: str, passages: Sequence[Hit]) -> list[extractive.Scored]:
    return extractive.rank(AnswerRequest(question, passages))


def _abstains(ranked: Sequence[extractive.Scored], threshold: float) -> bool:
    return not any(extractive.relevant(item, threshold) for item in ranked)


def _summary(rows: list[Row], seconds: list[float]) -> dict[str, object]:
    with_gold = [row for row in rows if row.gold_in_passages]
    spans = [row for row in with_gold if row.case.query.gold_answers]
    answered = [row for row in rows if row.chosen]
    return {
        "queries": len(rows),
        "gold_in_passages": rate(len(with_gold), len(rows)),
        "answer_recall_gold_in_passages": rate(sum(r.recalled for r in spans), len(spans)),
        "citation_accuracy": rate(sum(r.cites_gold for r in answered), len(answered)),
        "abstention_rate": rate(len(rows) - len(answered), len(rows)),
        "threshold": extractive.RELEVANCE_THRESHOLD,
        "sweep": [_sweep(rows, with_gold, t) for t in THRESHOLDS],
        "latency_ms_p50": percentile_ms(seconds, 50),
        "latency_ms_p99": percentile_ms(seconds, 99),
    }


def _sweep(rows: list[Row], with_gold: list[Row], threshold: float) -> dict[str, float | None]:
    """Abstention at one threshold: on gold-bearing passages (lower is better), on unrelated passages and on
    passages without the gold documents (higher is better)."""
    unrelated = [row.unrelated for row in rows if row.unrelated is not None]
    return {
        "threshold": threshold,
        "abstain_gold_in_passages": rate(
            sum(_abstains(r.ranked, threshold) for r in with_gold), len(with_gold)
        ),
        "abstain_unrelated": rate(sum(_abstains(ranked, threshold) for ranked in unrelated), len(unrelated)),
        "abstain_gold_removed": rate(sum(_abstains(r.gold_removed, threshold) for r in rows), len(rows)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Lore.open(Settings(data_dir=Path(tmp))) as lore:
        cases = build_cases(lore, args.dataset, args.k, args.limit)
    print(json.dumps({"dataset": str(args.dataset), "k": args.k, **run(cases)}, indent=2))


if __name__ == "__main__":
    main()
