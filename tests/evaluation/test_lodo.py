"""The leave-one-dataset-out protocol: folds, scoring, and that a rule is never fitted on the fold it is scored on."""

from collections.abc import Sequence

import numpy as np

from lore.evaluation import lodo, weighting
from lore.evaluation.metrics import ndcg_at
from lore.evaluation.pools import QueryPool


def pool(query_id: str, dataset: str, group: str | None = None, vector_first: bool = True) -> QueryPool:
    """Two documents, d1 relevant; the vector side ranks it first when `vector_first`, the keyword side
    otherwise. Document d1 has two chunks, so a document must count once, at its best chunk."""
    right, wrong = np.array([0.9, 0.5, 0.2]), np.array([0.2, 0.9, 0.5])
    vector, keyword = (right, wrong) if vector_first else (wrong, right)
    return QueryPool(
        query_id, "text", dataset, group, vector, keyword, ("d1", "d2", "d1"), (1, 2, 3), 1.0, {"d1": 1}
    )


def sample() -> list[QueryPool]:
    return [
        pool("c1", "cranfield"),
        pool("s1", "stackfaq", "0"),
        pool("s2", "stackfaq", "1", vector_first=False),
        pool("x1", "xquad/en"),
        pool("x2", "xquad/zh", vector_first=False),
    ]


def test_folds_split_grouped_sets_and_keep_the_xquad_languages_together() -> None:
    grouped = lodo.folds(sample())
    assert list(grouped) == ["cranfield", "stackfaq/0", "stackfaq/1", "xquad"]
    assert [p.id for p in grouped["xquad"]] == ["x1", "x2"]


def test_ndcg_counts_a_document_once_at_its_best_chunk_as_the_metric_does() -> None:
    query = pool("q", "cranfield")
    scores = np.array([0.1, 0.5, 0.9])  # chunk 3 (d1) first, then d2, then d1's other chunk
    assert lodo.ndcg(query, scores) == ndcg_at(["d1", "d2"], {"d1": 1}) == 1.0
    assert lodo.ndcg(query, np.array([0.1, 0.9, 0.5])) == ndcg_at(["d2", "d1"], {"d1": 1})


def test_a_rule_is_never_fitted_on_the_fold_it_is_scored_on() -> None:
    seen: dict[str, set[str]] = {}

    def fit(training: Sequence[QueryPool]) -> lodo.Scorer:
        ids = {p.id for p in training}

        def score(query: QueryPool) -> np.ndarray:
            seen.setdefault(lodo.fold_of(query), set()).update(ids)
            return query.vector

        return score

    table = lodo.leave_one_out(sample(), [lodo.Rule("recording", fit)])
    assert set(table) == set(seen) == {"cranfield", "stackfaq/0", "stackfaq/1", "xquad"}
    for fold, group in lodo.folds(sample()).items():
        held_out = {p.id for p in group}
        assert not seen[fold] & held_out  # never a held-out query
        assert seen[fold] == {p.id for p in sample()} - held_out  # and every other query


def test_a_fitted_rule_is_scored_on_the_fold_it_did_not_see() -> None:
    # The rule follows whichever side was right more often in training: held out, stackfaq/1 (keyword right)
    # is scored by the vector side the other folds favour, and loses.
    def fit(training: Sequence[QueryPool]) -> lodo.Scorer:
        vector_wins = sum(float(lodo.ndcg(p, p.vector) > lodo.ndcg(p, p.keyword)) for p in training)
        follow_vector = vector_wins * 2 >= len(training)
        return lodo.vector_only if follow_vector else lodo.keyword_only

    table = lodo.leave_one_out(sample(), [lodo.Rule("majority", fit), *lodo.BASELINES])
    assert table["stackfaq/1"]["majority"] == table["stackfaq/1"]["vector"] < table["stackfaq/1"]["keyword"]
    assert table["cranfield"]["majority"] == 1.0


def test_the_fitted_weight_follows_the_retriever_that_is_right_on_the_training_folds() -> None:
    vector_right = [pool(f"v{i}", name) for i, name in enumerate(["cranfield", "scifact"])]
    keyword_right = [
        pool(f"k{i}", name, vector_first=False) for i, name in enumerate(["cranfield", "scifact"])
    ]
    assert weighting.fit(vector_right) > 0.5 > weighting.fit(keyword_right)


def test_the_table_gives_each_folds_margins_and_whether_the_goal_is_met() -> None:
    following_vector = lodo.run(sample(), [*lodo.BASELINES, lodo.fixed("rule", lodo.vector_only)])
    rows = {row["fold"]: row for row in following_vector["folds"]}  # type: ignore[attr-defined]
    assert rows["stackfaq/1"]["vs_best_single"] < -0.005 and rows["cranfield"]["vs_best_single"] == 0.0
    assert following_vector["meets_target"] is False
    best_of_both = lodo.Rule(
        "rule",
        lambda _: lambda p: p.vector if lodo.ndcg(p, p.vector) >= lodo.ndcg(p, p.keyword) else p.keyword,
    )
    assert lodo.run(sample(), [*lodo.BASELINES, best_of_both])["meets_target"] is True
