"""Reranking: the top fused hits reordered by a cross-encoder's score of (query, passage), which reads the two
together instead of comparing two vectors made apart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from lore.models import Hit


class PairScorer(Protocol):
    """A cross-encoder (`lore.backends.reranker.CrossEncoder`): one relevance score per passage."""

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray: ...


def rerank(query: str, hits: Sequence[Hit], scorer: PairScorer, k: int) -> list[Hit]:
    """The best `k` of `hits` by the scorer, each hit's `score` now the scorer's (ties keep the fused order).
    The retrievers' own scores and `relevance` stay: they still say what each retriever found."""
    if not hits:
        return []
    scores = scorer.score(query, [hit.chunk.text for hit in hits])
    order = np.argsort(-scores, kind="stable")[:k]
    return [replace(hits[i], score=float(scores[i])) for i in order]
