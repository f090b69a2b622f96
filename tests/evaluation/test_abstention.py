import json
from pathlib import Path

from lore.config import Settings
from lore.evaluation import abstention
from lore.service import Lore


def write_set(directory: Path) -> None:
    corpus = [
        {
            "_id": "d1",
            "title": "Refunds",
            "text": "Refunds are processed within five business days of approval.",
        },
        {
            "_id": "d2",
            "title": "Passwords",
            "text": "To reset a password, open Settings and choose Security.",
        },
        {"_id": "d3", "title": "Shipping", "text": "Parcels to islands travel by ferry and take a week."},
    ]
    queries = [
        {
            "_id": "q1",
            "text": "How fast are refunds processed?",
            "metadata": {"answers": [{"text": "five business days"}]},
        },
        {
            "_id": "q2",
            "text": "Where do I reset a password?",
            "metadata": {"answers": [{"text": "Settings"}]},
        },
    ]
    (directory / "qrels").mkdir(parents=True)
    (directory / "corpus.jsonl").write_text("\n".join(json.dumps(row) for row in corpus))
    (directory / "queries.jsonl").write_text("\n".join(json.dumps(row) for row in queries))
    (directory / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")


def test_measures_recall_citations_and_abstention_on_a_beir_set(tmp_path: Path, model_cache: Path) -> None:
    write_set(tmp_path / "set")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", model_cache_dir=model_cache)
    with Lore.open(settings) as lore:
        cases = abstention.build_cases(lore, tmp_path / "set", k=1, limit=None)
    report = abstention.run(cases)
    assert report["queries"] == 2
    assert report["gold_in_passages"] == 1.0
    assert report["answer_recall_gold_in_passages"] == 1.0
    assert report["citation_accuracy"] == 1.0
    assert report["abstention_rate"] == 0.0
    sweep = {row["threshold"]: row for row in report["sweep"]}  # type: ignore[union-attr]
    assert sweep[0.4]["abstain_gold_in_passages"] == 0.0
    assert sweep[0.4]["abstain_unrelated"] == 1.0  # each question given the other's passages
