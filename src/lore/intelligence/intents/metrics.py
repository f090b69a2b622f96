"""How good an intent model is on labelled texts, and the calibration chosen on validation: a softmax
temperature (lowest log-loss) and the confidence threshold under which a prediction is withheld."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from lore.intelligence.intents.model import softmax

CONFUSED_PAIRS = 5
TEMPERATURES = np.geomspace(0.25, 64.0, 57)


def quality(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-label precision/recall/F1/support and the most confused (truth, predicted) pairs."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    labels = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per_label = {
        label: {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        if s > 0
    }
    return {
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, labels=sorted(set(truth)), average="macro")), 4),
        "per_label": per_label,
        "confused_pairs": confused_pairs(truth, predicted),
    }


def confused_pairs(truth: Sequence[str], predicted: Sequence[str], top: int = CONFUSED_PAIRS) -> list[Any]:
    """The most frequent mistakes, as {"label", "predicted", "count"}, most frequent first."""
    mistakes = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    ranked = sorted(mistakes.items(), key=lambda item: (-item[1], item[0]))[:top]
    return [{"label": t, "predicted": p, "count": n} for (t, p), n in ranked]


def fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The temperature whose softmax gives the validation labels the lowest log-loss (a grid: one parameter)."""
    rows = np.arange(len(truth))
    losses = [-np.log(softmax(scores * t)[rows, truth] + 1e-12).mean() for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target_precision: float) -> float:
    """The lowest confidence at which the predictions kept (those at or above it) are still right at least
    `target_precision` of the time on validation; the highest confidence seen when no cut-off reaches it."""
    if len(confidence) == 0:
        return 0.0
    order = np.argsort(-confidence, kind="stable")
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    passing = np.flatnonzero(precision >= target_precision)
    kept = passing[-1] if len(passing) else 0
    return float(confidence[order[kept]])


def coverage(confidence: np.ndarray, correct: np.ndarray, threshold: float) -> dict[str, float]:
    """At a threshold: the share of texts given an intent, and how often that intent is right."""
    kept = confidence >= threshold
    share = float(kept.mean()) if len(kept) else 0.0
    precision = float(correct[kept].mean()) if kept.any() else 0.0
    return {"coverage": round(share, 4), "precision": round(precision, 4)}
