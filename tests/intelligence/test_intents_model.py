"""Training an intent model on a small labelled set with the real embedder: the split, the figures, the
calibrated threshold and the stored form."""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
import pytest

from lore.errors import InvalidInput
from lore.intelligence.intents.data import parse_csv, stratified_split
from lore.intelligence.intents.model import IntentModel
from lore.intelligence.intents.training import TrainedIntents, TrainingParams, embed_all, train
from lore.service import Lore
from tests.intelligence.intent_data import INTENTS, as_csv, labelled_rows


@pytest.fixture
def trained(intent_lore: Lore, intent_csv: bytes) -> TrainedIntents:
    return train(parse_csv(intent_csv), intent_lore.embedder, TrainingParams(validation_share=0.25))


def test_the_validation_share_is_stratified_and_a_single_example_stays_in_training() -> None:
    labels = ["a"] * 8 + ["b"] * 4 + ["c"]
    train_rows, validation_rows = stratified_split(labels, 0.25)
    held = Counter(labels[i] for i in validation_rows)
    assert held == {"a": 2, "b": 1}
    assert sorted([*train_rows, *validation_rows]) == list(range(len(labels)))


def test_training_reports_validation_figures_and_a_threshold(
    trained: TrainedIntents, intent_csv: bytes
) -> None:
    figures = trained.metrics
    assert figures["accuracy"] >= 0.9 and figures["macro_f1"] >= 0.9
    assert set(figures["per_label"]) == set(INTENTS)
    assert figures["validation_rows"] == 3 * 6 and figures["rows"] == len(labelled_rows())
    assert figures["training_seconds"] > 0 and 0 < trained.model.threshold <= 1
    assert trained.model.labels == sorted(INTENTS)


def test_a_stored_model_predicts_as_the_fitted_one(trained: TrainedIntents, intent_lore: Lore) -> None:
    texts = ["please give me a refund for my jacket", "my wallet and card were stolen"]
    vectors = embed_all(intent_lore.embedder, texts, lambda stage, done, total: None)
    loaded = IntentModel.loads(trained.model.dumps())
    before, after = trained.model.predict(texts, vectors), loaded.predict(texts, vectors)
    assert [p.intent for p in after] == ["refund_request", "card_lost"]
    assert [p.alternatives[0][0] for p in after] == [p.alternatives[0][0] for p in before]
    assert np.allclose([p.confidence for p in after], [p.confidence for p in before], atol=1e-3)
    assert len(after[0].alternatives) == 3


def test_under_the_threshold_a_text_has_no_intent(trained: TrainedIntents, intent_lore: Lore) -> None:
    strict = trained.model.with_calibration(temperature=1.0, threshold=0.99)
    vectors = embed_all(intent_lore.embedder, ["refund my order"], lambda stage, done, total: None)
    (prediction,) = strict.predict(["refund my order"], vectors)
    assert prediction.intent is None
    assert prediction.alternatives[0][0] == "refund_request" and prediction.confidence < 1.0


def test_a_payload_holding_pickled_objects_is_refused() -> None:
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array([{"code": "anything"}], dtype=object))
    with pytest.raises(InvalidInput):
        IntentModel.loads(buffer.getvalue())
    with pytest.raises(InvalidInput):
        IntentModel.loads(b"not a model")


@pytest.mark.parametrize(
    "content",
    [b"text,label\nonly one,label\nanother,label\n", b"question,answer\na,b\n", b"text,label\n\xff\xfe,x\n"],
)
def test_a_csv_that_cannot_train_is_bad_input(content: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_csv(content)


def test_the_data_hash_is_the_sha256_of_the_csv_and_category_names_the_label_too() -> None:
    import hashlib

    content = as_csv(labelled_rows(["x"]), label_column="category")
    data = parse_csv(content)
    assert data.data_hash == hashlib.sha256(content).hexdigest()
    assert set(data.labels) == set(INTENTS)
