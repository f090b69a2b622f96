import math

import pytest

from lore.evaluation.metrics import contains_answer, mrr_at, ndcg_at, normalise, recall_at


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


def test_answers_are_compared_normalised_on_whole_words() -> None:
    assert normalise("The  U.S. Supreme-Court’s!") == "us supreme court s"
    sentence = "It was decided by the US Supreme Court in 1977 [2]."
    assert contains_answer(sentence, ["U.S. Supreme Court"])
    assert contains_answer(sentence, ["1977"])
    assert not contains_answer(sentence, ["Congress"])
    assert not contains_answer(sentence, ["2"])  # a citation marker is not an answer
    assert not contains_answer("It spans the network.", ["two"])
    assert contains_answer("A six-time winner.", ["Six"])
    assert contains_answer("丹佛野马队防守共让分308分。", ["308"])  # no spaces to find word edges by
    assert not contains_answer("anything", [""])
