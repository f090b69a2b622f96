import numpy as np

from lore.core import fusion
from lore.core.fusion import Candidate


def ranking(scores: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-scores, kind="stable")]


def test_reciprocal_rank_weights_break_ties_between_retrievers() -> None:
    candidates = [Candidate(1, 0.9, 5.0), Candidate(2, 0.8, 9.0), Candidate(3, 0.1, 0.0)]
    assert ranking(fusion.reciprocal_rank(candidates, weights=(2.0, 1.0)))[:2] == [0, 1]
    assert ranking(fusion.reciprocal_rank(candidates, weights=(1.0, 2.0)))[:2] == [1, 0]
    assert ranking(fusion.reciprocal_rank(candidates))[-1] == 2


def test_default_fusion_follows_the_retriever_whose_best_hit_stands_out() -> None:
    # The vector scores single out candidate 0; the keyword scores are nearly flat noise.
    vector_clear = [Candidate(i, 0.9 if i == 0 else 0.3, 1.0 + 0.01 * i) for i in range(20)]
    assert ranking(fusion.fuse(vector_clear))[0] == 0
    # And the other way round.
    keyword_clear = [Candidate(i, 0.5 + 0.001 * i, 12.0 if i == 3 else 1.0) for i in range(20)]
    assert ranking(fusion.fuse(keyword_clear))[0] == 3


def test_fusion_is_finite_on_degenerate_input() -> None:
    same = [Candidate(i, 0.5, 0.0) for i in range(5)]
    assert np.isfinite(fusion.fuse(same)).all()
    assert len(fusion.fuse([Candidate(7, 0.2, 0.0)])) == 1


def test_queries_in_scripts_the_model_does_not_know_lean_on_keywords() -> None:
    # Vector prefers candidate 0, keyword prefers candidate 1, both about equally confident.
    candidates = [Candidate(0, 0.75, 4.0), Candidate(1, 0.45, 9.0)] + [
        Candidate(i, 0.3, 3.0) for i in range(2, 9)
    ]
    assert ranking(fusion.fuse(candidates, coverage=1.0))[0] == 0
    assert ranking(fusion.fuse(candidates, coverage=0.0))[0] == 1


def test_relevance_is_the_cosine_on_the_models_calibrated_scale() -> None:
    floor = 0.2
    assert fusion.relevance(0.1, floor) == 0.0  # unrelated: what an answer is not grounded in
    assert fusion.relevance(floor, floor) == 0.0
    assert fusion.relevance(0.6, floor) == 0.5
    assert fusion.relevance(1.0, floor) == 1.0
    assert fusion.relevance(1.2, floor) == 1.0
    assert fusion.relevance(0.9, None) is None  # an uncalibrated model says nothing absolute
    assert fusion.relevance(None, floor) is None  # keyword mode
