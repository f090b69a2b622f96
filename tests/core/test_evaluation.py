import json
import math
from pathlib import Path

import pytest

from lore.core.evaluation import load_beir, mrr_at, ndcg_at, recall_at, summarise
from lore.errors import InvalidInput


def test_ndcg_matches_the_textbook_formula() -> None:
    grades = {"a": 2, "b": 1}
    dcg = 1 / math.log2(2) * 0 + 1 / math.log2(3) * 2 + 1 / math.log2(4) * 1
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(["x", "a", "b"], grades) == pytest.approx(dcg / idcg)
    assert ndcg_at(["a", "b"], grades) == pytest.approx(1.0)
    assert ndcg_at(["x"], {}) == 0.0


def test_recall_and_mrr() -> None:
    grades = {"a": 1, "b": 1, "c": 0}
    assert recall_at(["c", "a"], grades) == 0.5
    assert mrr_at(["c", "x", "b"], grades) == pytest.approx(1 / 3)
    assert mrr_at(["c"], grades) == 0.0


def write_beir(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    docs = [{"_id": "d1", "title": "Refunds", "text": "Refunds take five days."}, {"_id": "d2", "text": "Hi"}]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    queries = [{"_id": "q1", "text": "refund time"}, {"_id": "q2", "text": "unjudged"}]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    return root


def test_load_beir_keeps_judged_queries_only(tmp_path: Path) -> None:
    dataset = load_beir(write_beir(tmp_path / "tiny"))
    assert dataset.name == "tiny"
    assert dataset.queries == {"q1": "refund time"}
    assert [d.id for d in dataset.corpus()] == ["d1", "d2"]
    result = summarise(dataset, "hybrid", {"q1": ["d1"]}, [0.001, 0.003], 1.5)
    assert result["ndcg_at_10"] == 1.0 and result["queries"] == 1 and result["latency_ms_p50"] == 2.0


def test_load_beir_rejects_other_layouts(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"corpus\.jsonl"):
        load_beir(tmp_path)
