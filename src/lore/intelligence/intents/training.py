"""Train an intent model: embed the texts, fit a linear SVM on n-grams and embeddings on the training share,
calibrate and measure it on the stratified validation share, then refit on every row with the same settings.

    >>> trained = train(parse_csv(content), embedder, TrainingParams())
    >>> trained.metrics["accuracy"], trained.model.threshold

Validation chooses the softmax temperature and the confidence threshold (see `metrics`); the figures reported
are the validation model's, the stored model has also seen the validation rows.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lore.intelligence.intents import metrics
from lore.intelligence.intents.data import Labelled, stratified_split
from lore.intelligence.intents.features import HashedTfidf, combine
from lore.intelligence.intents.model import IntentModel, softmax
from lore.interfaces import Embedder

Progress = Callable[[str, int, int], None]  # (stage, done, total)
EMBED_BATCH = 256
PROBE = "where is my card"


@dataclass(frozen=True, slots=True)
class TrainingParams:
    """Chosen on banking77's validation folds: C 0.5, embeddings weighted 2 against the two n-gram blocks."""

    validation_share: float = 0.1
    target_precision: float = 0.95
    c: float = 0.5
    embedding_weight: float = 2.0
    min_df: int = 2


@dataclass(frozen=True, slots=True)
class TrainedIntents:
    model: IntentModel
    metrics: dict[str, Any]
    params: dict[str, Any]


def train(
    data: Labelled, embedder: Embedder, params: TrainingParams, progress: Progress | None = None
) -> TrainedIntents:
    report = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    vectors = embed_all(embedder, data.texts, report)
    train_rows, validation_rows = stratified_split(data.labels, params.validation_share)
    report("fitting", 0, 2)
    held_out = fit(data.subset(train_rows), vectors[train_rows], params)
    validation = data.subset(validation_rows)
    calibrated, figures = calibrate(held_out, validation, vectors[validation_rows], params)
    report("fitting", 1, 2)
    final = fit(data, vectors, params).with_calibration(calibrated.temperature, calibrated.threshold)
    report("fitting", 2, 2)
    figures.update(
        training_seconds=round(time.perf_counter() - started, 2),
        train_rows=len(train_rows),
        validation_rows=len(validation_rows),
        rows=len(data.texts),
    )
    return TrainedIntents(final, figures, asdict(params))


def query_embedding(embedder: Embedder) -> Callable[[Sequence[str]], np.ndarray]:
    """How to embed training texts as serving embeds a query: in bulk when the embedder gives a query and a
    document the same vector (MiniLM), one query at a time when it does not (e5's `query: ` prefix)."""
    same = float(embedder.embed_query(PROBE) @ embedder.embed_documents([PROBE])[0]) > 0.999
    if same:
        return embedder.embed_documents
    return lambda texts: np.stack([embedder.embed_query(text) for text in texts])


def embed_all(embedder: Embedder, texts: Sequence[str], report: Progress) -> np.ndarray:
    embed = query_embedding(embedder)
    out = np.empty((len(texts), embedder.dim), np.float32)
    for start in range(0, len(texts), EMBED_BATCH):
        report("embedding", start, len(texts))
        out[start : start + EMBED_BATCH] = embed(texts[start : start + EMBED_BATCH])
    report("embedding", len(texts), len(texts))
    return out


def fit(data: Labelled, vectors: np.ndarray, params: TrainingParams) -> IntentModel:
    """A one-vs-rest linear SVM over n-grams and embeddings (uncalibrated: temperature 1, no threshold)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    grams = HashedTfidf.fit(data.texts, params.min_df)
    features = combine(grams.transform(data.texts), vectors, params.embedding_weight)
    svm = LinearSVC(C=params.c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the last iterations change no prediction
        svm.fit(features, data.labels)
    labels = [str(label) for label in svm.classes_]
    coef, intercept = np.asarray(svm.coef_, np.float32), np.asarray(svm.intercept_, np.float32)
    if len(labels) == 2:  # one separating hyperplane: as two opposite scores, like every other model
        coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
    return IntentModel(labels, grams, coef, intercept, params.embedding_weight, 1.0, 0.0)


def calibrate(
    model: IntentModel, validation: Labelled, vectors: np.ndarray, params: TrainingParams
) -> tuple[IntentModel, dict[str, Any]]:
    """The temperature and threshold fitted on validation, and the validation figures."""
    if not validation.texts:
        return model, {"validation": None, "threshold": 0.0, "temperature": 1.0}
    scores = model.scores(validation.texts, vectors)
    index = {label: i for i, label in enumerate(model.labels)}
    truth = np.array([index.get(label, -1) for label in validation.labels])
    known = truth >= 0
    temperature = metrics.fit_temperature(scores[known], truth[known])
    probabilities = softmax(scores * temperature)
    predicted = probabilities.argmax(axis=1)
    confidence, correct = probabilities.max(axis=1), predicted == truth
    threshold = metrics.choose_threshold(confidence, correct, params.target_precision)
    figures = metrics.quality(validation.labels, [model.labels[i] for i in predicted])
    figures.update(
        temperature=round(temperature, 4),
        threshold=round(threshold, 6),
        at_threshold=metrics.coverage(confidence, correct, threshold),
    )
    return model.with_calibration(temperature, threshold), figures
