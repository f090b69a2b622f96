"""A fitted intent model and its stored form.

The payload is an `.npz` archive of plain numeric arrays plus one JSON document (labels, weights, threshold),
read back with `allow_pickle=False`: a payload from the database can hold numbers and text, never code.
Coefficients are stored as float16 (the predictions do not move; the payload halves).

    >>> model = IntentModel.loads(payload)
    >>> model.predict(["where is my card"], vectors)[0].intent
    'card_arrival'
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from lore.errors import InvalidInput
from lore.intelligence.intents.features import Block, HashedTfidf, combine

FORMAT = "lore-intents-1"
TOP = 3


class Prediction(NamedTuple):
    """The best label (None under the model's threshold), its confidence and the top alternatives."""

    intent: str | None
    confidence: float
    alternatives: list[tuple[str, float]]


@dataclass(frozen=True, slots=True)
class IntentModel:
    labels: list[str]
    grams: HashedTfidf
    coef: np.ndarray  # (labels, n-gram width + embedding dim), float32 in memory
    intercept: np.ndarray  # (labels,)
    embedding_weight: float
    temperature: float  # softmax(temperature * score): calibrated on validation
    threshold: float  # a prediction less confident than this has no intent

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, (len(texts), len(labels))."""
        scores = self.scores(texts, vectors)
        return softmax(scores * self.temperature)

    def scores(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        features = combine(self.grams.transform(texts), vectors, self.embedding_weight)
        return np.asarray(features @ self.coef.T) + self.intercept

    def predict(self, texts: Sequence[str], vectors: np.ndarray) -> list[Prediction]:
        return [self.prediction(row) for row in self.probabilities(texts, vectors)]

    def prediction(self, probabilities: np.ndarray) -> Prediction:
        order = np.argsort(-probabilities)[:TOP]
        best = float(probabilities[order[0]])
        alternatives = [(self.labels[i], round(float(probabilities[i]), 6)) for i in order]
        intent = self.labels[order[0]] if best >= self.threshold else None
        return Prediction(intent, round(best, 6), alternatives)

    def with_calibration(self, temperature: float, threshold: float) -> IntentModel:
        return IntentModel(
            self.labels, self.grams, self.coef, self.intercept, self.embedding_weight, temperature, threshold
        )

    # -- stored form ----------------------------------------------------------------------------------------

    def dumps(self) -> bytes:
        meta = {
            "format": FORMAT,
            "labels": self.labels,
            "embedding_weight": self.embedding_weight,
            "temperature": self.temperature,
            "threshold": self.threshold,
        }
        arrays = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "coef": self.coef.astype(np.float16),
            "intercept": self.intercept.astype(np.float32),
            "word_buckets": self.grams.words.buckets,
            "word_idf": self.grams.words.idf,
            "char_buckets": self.grams.chars.buckets,
            "char_idf": self.grams.chars.idf,
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def loads(cls, payload: bytes) -> IntentModel:
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta: dict[str, Any] = json.loads(arrays["meta"].tobytes())
        except (OSError, ValueError, KeyError) as error:
            raise InvalidInput("not an intent model payload", details={"reason": str(error)}) from error
        if meta.get("format") != FORMAT:
            raise InvalidInput("unknown intent model format", details={"format": meta.get("format")})
        grams = HashedTfidf(
            Block(arrays["word_buckets"], arrays["word_idf"]),
            Block(arrays["char_buckets"], arrays["char_idf"]),
        )
        return cls(
            list(meta["labels"]),
            grams,
            arrays["coef"].astype(np.float32),
            arrays["intercept"],
            float(meta["embedding_weight"]),
            float(meta["temperature"]),
            float(meta["threshold"]),
        )


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
