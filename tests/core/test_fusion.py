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


FLOOR = 0.2  # MiniLM's calibrated unrelated_below


def test_a_confident_cosine_outweighs_a_keyword_lead_and_a_cosine_near_the_floor_does_not() -> None:
    # Candidate 0 is the vector side's best, candidate 1 the keyword side's, by a wide margin.
    confident = [Candidate(0, 0.80, 4.0), Candidate(1, 0.45, 12.0)] + [
        Candidate(i, 0.3, 1.0) for i in range(2, 9)
    ]
    assert ranking(fusion.fuse(confident, floor=FLOOR))[0] == 0
    # The same order of cosines, all of them near the floor: the model is not sure, and BM25 decides.
    unsure = [Candidate(0, 0.26, 4.0), Candidate(1, 0.22, 12.0)] + [
        Candidate(i, 0.21, 1.0) for i in range(2, 9)
    ]
    assert ranking(fusion.fuse(unsure, floor=FLOOR))[0] == 1
    # Without a calibrated floor the cosines are min-max normalised: the vector side's best counts fully.
    assert ranking(fusion.fuse(unsure))[0] == 0


def test_the_vector_weight_is_shared_out_by_the_models_coverage_of_the_language() -> None:
    assert fusion.vector_weight(1.0) == fusion.VECTOR_WEIGHT
    assert fusion.vector_weight(0.0) == fusion.UNCOVERED_WEIGHT
    assert fusion.UNCOVERED_WEIGHT < fusion.vector_weight(0.5) < fusion.VECTOR_WEIGHT


def test_fusion_is_finite_on_degenerate_input() -> None:
    same = [Candidate(i, 0.5, 0.0) for i in range(5)]
    assert np.isfinite(fusion.fuse(same)).all()
    assert np.isfinite(fusion.fuse(same, floor=FLOOR)).all()
    assert len(fusion.fuse([Candidate(7, 0.2, 0.0)])) == 1
    assert len(fusion.fuse([])) == 0


def test_queries_in_scripts_the_model_does_not_know_lean_on_keywords() -> None:
    # Vector prefers candidate 0, keyword prefers candidate 1.
    candidates = [Candidate(0, 0.75, 4.0), Candidate(1, 0.45, 9.0)] + [
        Candidate(i, 0.3, 3.0) for i in range(2, 9)
    ]
    assert ranking(fusion.fuse(candidates, coverage=1.0, floor=FLOOR))[0] == 0
    assert ranking(fusion.fuse(candidates, coverage=0.0, floor=FLOOR))[0] == 1


def test_relevance_is_the_cosine_on_the_models_calibrated_scale() -> None:
    floor = 0.2
    assert fusion.relevance(0.1, floor) == 0.0  # unrelated: what an answer is not grounded in
    assert fusion.relevance(floor, floor) == 0.0
    assert fusion.relevance(0.6, floor) == 0.5
    assert fusion.relevance(1.0, floor) == 1.0
    assert fusion.relevance(1.2, floor) == 1.0
    assert fusion.relevance(0.9, None) is None  # an uncalibrated model says nothing absolute
    assert fusion.relevance(None, floor) is None  # keyword mode
