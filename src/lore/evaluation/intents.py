"""Intent classification on a labelled set (`train.csv` and `test.csv`, columns text and label or category),
as `lore eval intents` prints it: a model trained on train.csv (its validation share carved from it), scored
once on test.csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lore.errors import InvalidInput
from lore.evaluation.machine import cpu_flags
from lore.intelligence.intents.data import Labelled, parse_csv
from lore.intelligence.intents.metrics import quality
from lore.intelligence.intents.model import IntentModel
from lore.intelligence.intents.training import Progress, TrainingParams, embed_all, train
from lore.interfaces import Embedder


def evaluate(
    dataset_dir: Path, embedder: Embedder, params: TrainingParams, progress: Progress | None = None
) -> dict[str, Any]:
    """Train on the set's train.csv (timed, embeddings included), then `score` it once on its test.csv."""
    paths = [dataset_dir / name for name in ("train.csv", "test.csv")]
    if missing := [path.name for path in paths if not path.is_file()]:
        raise InvalidInput("the data set needs train.csv and test.csv", details={"missing": missing})
    training, test = (parse_csv(path.read_bytes()) for path in paths)
    trained = train(training, embedder, params, progress)
    figures = score(trained.model, embedder, test, progress)
    return {
        "dataset": dataset_dir.name,
        "embedder": embedder.model_id,
        "train_rows": len(training.texts),
        "test_rows": len(test.texts),
        "labels": len(set(training.labels)),
        "accuracy": figures["accuracy"],
        "macro_f1": figures["macro_f1"],
        "training_seconds": trained.metrics["training_seconds"],
        "validation_accuracy": trained.metrics["accuracy"],
        "threshold": trained.model.threshold,
        "at_threshold": figures["at_threshold"],
        "confused_pairs": figures["confused_pairs"],
        "payload_bytes": len(trained.model.dumps()),
        "cpu_flags": cpu_flags(),
    }


def score(
    model: IntentModel, embedder: Embedder, data: Labelled, progress: Progress | None = None
) -> dict[str, Any]:
    """A model's figures on labelled texts: accuracy and macro-F1 count every text by its best label (a
    prediction under the threshold too); `at_threshold` tells how many had an intent and how often it was right."""
    report = progress or (lambda stage, done, total: None)
    vectors = embed_all(embedder, data.texts, lambda stage, done, total: report("testing", done, total))
    predictions = model.predict(data.texts, vectors)
    figures = quality(data.labels, [p.alternatives[0][0] for p in predictions])
    given = [(p.intent, label) for p, label in zip(predictions, data.labels, strict=True) if p.intent]
    figures["at_threshold"] = {
        "coverage": round(len(given) / max(1, len(predictions)), 4),
        "precision": round(sum(intent == label for intent, label in given) / max(1, len(given)), 4),
    }
    return figures
