"""Whether the retrieved passages hold an answer, judged from retrieval evidence rather than word overlap alone.

Five signals, all already known once search has run:

    cosine     the best passage's semantic similarity to the question (its vector score)
    peak       how far that passage stands above the others' mean: one passage about the question, not five
               vaguely near it
    coverage   the share of the question's topic terms the best-covering passage holds (its title and
               headings included): "Zendesk" in the question and nowhere in the passages is missing evidence
    agreement  1 when keyword and vector retrieval put the same passage first, else 0
    sentence   the share of those terms that the best single sentence holds (word overlap, one signal of five)

A logistic model of them gives the probability that the passages answer the question; below the threshold the
answer abstains. Weights and threshold are fitted per embedding model (their cosines live on different scales)
on the shared evaluation sets, by `python -m lore.evaluation.abstention`, into `abstention.json` next to this
module. A model without an entry, or passages without vector scores (keyword search), get no calibrated
judgement: the extractive provider then falls back to its term rule.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from lore.answers.terms import content_terms, term_set
from lore.answers.units import ANSWERABLE, units_of
from lore.models import Hit

FEATURES = ("cosine", "peak", "coverage", "agreement", "sentence")
CALIBRATION_FILE = "abstention.json"


@dataclass(frozen=True, slots=True)
class Evidence:
    cosine: float
    peak: float
    coverage: float
    agreement: float
    sentence: float

    def vector(self) -> list[float]:
        return [self.cosine, self.peak, self.coverage, self.agreement, self.sentence]


@dataclass(frozen=True, slots=True)
class Calibration:
    """A fitted logistic model over `FEATURES` and the probability under which an answer abstains."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, evidence: Evidence) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, evidence.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def answerable(self, evidence: Evidence) -> bool:
        return self.probability(evidence) >= self.threshold


def evidence(question: str, passages: Sequence[Hit]) -> Evidence | None:
    """The four signals of the passages for the question; None without vector scores to read."""
    cosines = [hit.vector_score for hit in passages]
    if not passages or any(score is None for score in cosines):
        return None
    scores = [float(score) for score in cosines if score is not None]
    best = max(range(len(scores)), key=scores.__getitem__)
    others = [score for i, score in enumerate(scores) if i != best]
    peak = scores[best] - sum(others) / len(others) if others else 0.0
    keyword = [hit.keyword_score or 0.0 for hit in passages]
    agree = float(max(keyword) > 0 and max(range(len(keyword)), key=keyword.__getitem__) == best)
    covered = max(coverage(question, hit) for hit in passages)
    return Evidence(
        scores[best], peak, covered, agree, max(sentence_coverage(question, hit) for hit in passages)
    )


def coverage(question: str, hit: Hit) -> float:
    """The share of the question's topic terms that the passage, its title or its headings hold."""
    asked = content_terms(question)
    if not asked:
        return 0.0
    chunk = hit.chunk
    held = term_set(" ".join([chunk.title, *chunk.heading_path, chunk.text]))
    return sum(term in held for term in asked) / len(asked)


def sentence_coverage(question: str, hit: Hit) -> float:
    """The largest share of the question's topic terms that one answerable sentence of the passage holds."""
    asked = content_terms(question)
    units = [unit for unit in units_of(hit.chunk.text) if unit.kind in ANSWERABLE]
    if not asked or not units:
        return 0.0
    return max(sum(term in term_set(unit.text) for term in asked) for unit in units) / len(asked)


def calibration_for(model_id: str) -> Calibration | None:
    """The calibration fitted for an embedding model, if any."""
    entry = _calibrations().get(model_id)
    if entry is None:
        return None
    return Calibration(tuple(entry["weights"]), float(entry["bias"]), float(entry["threshold"]))


@cache
def _calibrations() -> dict[str, Any]:
    path = files("lore.answers") / CALIBRATION_FILE
    if not path.is_file():
        return {}
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded.get("models", {})
