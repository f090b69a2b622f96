from pathlib import Path

import pytest

from lore.errors import InvalidInput
from lore.evaluation.datasets import JudgedQuery, gold_answers, judged_queries, load_beir
from tests.evaluation.sets import write_answer_set, write_tiny_set


def test_load_beir_keeps_judged_queries_only(tmp_path: Path) -> None:
    dataset = load_beir(write_tiny_set(tmp_path / "tiny"))
    assert dataset.name == "tiny"
    assert dataset.queries == {"q1": "refund time"}
    assert [d.id for d in dataset.corpus()] == ["d1", "d2"]


def test_load_beir_rejects_other_layouts(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"corpus\.jsonl"):
        load_beir(tmp_path)


def test_gold_documents_and_answers_come_from_qrels_and_query_metadata(tmp_path: Path) -> None:
    root = write_answer_set(tmp_path / "set")
    queries = judged_queries(load_beir(root), gold_answers(root), limit=4)
    assert [q.id for q in queries] == ["q1", "q2", "q3", "q4"]  # judged only, in file order
    assert queries[0] == JudgedQuery(
        "q1", "How fast are refunds processed?", frozenset({"d1"}), ("five business days",)
    )
    assert (queries[2].gold_answers, queries[3].gold_answers) == (("Giotto",), ())
