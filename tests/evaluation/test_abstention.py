"""The abstention calibration: evidence of answerable and unanswerable questions, a model fitted on it, and the
calibration the package ships for its default embedding model."""

import json
from pathlib import Path

from lore.answers.evidence import calibration_for
from lore.config import Settings
from lore.evaluation import abstention
from lore.evaluation.datasets import JudgedQuery
from lore.registry import create_embedder
from lore.service import Lore

CORPUS = [
    ("d1", "Refunds", "Refunds are processed within five business days of approval."),
    ("d2", "Passwords", "To reset a password, open Settings and choose Security."),
    ("d3", "Shipping", "Parcels to islands travel by ferry and take a week."),
]
OWN = [
    JudgedQuery("q1", "How fast are refunds processed?", frozenset({"d1"}), ()),
    JudgedQuery("q2", "Where do I reset a password?", frozenset({"d2"}), ()),
    JudgedQuery("q3", "How long do parcels to islands take?", frozenset({"d3"}), ()),
]
STRANGERS = [
    JudgedQuery("x1", "Which telescope photographed the comet nucleus?", frozenset(), ()),
    JudgedQuery("x2", "What do giraffes eat in the dry season?", frozenset(), ()),
]


def test_evidence_is_collected_fitted_and_written(tmp_path: Path, model_cache: Path) -> None:
    from lore.core.ingest import CorpusDoc

    settings = Settings(_env_file=None, data_dir=tmp_path / "data", model_cache_dir=model_cache)
    with Lore.open(settings) as lore:
        lore.add_corpus(CorpusDoc(*row) for row in CORPUS)
        cases = abstention.collect(lore, "tiny", OWN, STRANGERS, k=1)
    assert (len(cases.answerable), len(cases.held_out), len(cases.foreign)) == (3, 3, 2)
    assert min(c.cosine for c in cases.answerable) > max(c.cosine for c in cases.foreign)

    result = abstention.report([cases])
    figures = result["in_sample"]["tiny"]
    assert figures["false_abstention_rate"] == 0.0 and figures["false_answer_foreign"] == 0.0
    assert len(result["weights"]) == len(result["features"]) == 5

    path = abstention.write(
        "some-model", {"weights": result["weights"], "bias": 0.0, "threshold": 0.5}, tmp_path / "a.json"
    )
    assert json.loads(path.read_text())["models"]["some-model"]["threshold"] == 0.5


def test_the_default_embedding_model_ships_a_calibration(tmp_path: Path, model_cache: Path) -> None:
    embedder = create_embedder(Settings(_env_file=None, data_dir=tmp_path, model_cache_dir=model_cache))
    calibration = calibration_for(embedder.model_id)
    assert calibration is not None and 0 < calibration.threshold < 1
    assert calibration_for("a-model-nobody-calibrated") is None
