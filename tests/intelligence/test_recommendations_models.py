"""The recommender's algorithms on small matrices whose answers are known: EASE and item-kNN weights,
popularity decay, MMR, the stored payload, the blend's reasons and related items' near-duplicate rules."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import scipy.sparse as sp

from lore.backends.store.catalogue import CatalogueItem
from lore.intelligence.recommend import collaborative, ranking
from lore.intelligence.recommend.engagement import Engagement
from lore.intelligence.recommend.mmr import diversify
from lore.intelligence.recommend.model import FitParams, RecommenderModel, Weights, fit
from lore.intelligence.recommend.popularity import decayed_counts
from lore.models import utcnow

# users x items: items 0 and 1 always go together, 2 and 3 together, 4 alone
X = sp.csr_matrix(
    np.array(
        [[1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 1, 1], [1, 1, 0, 0, 0]],
        dtype=np.float32,
    )
)


def test_ease_is_the_closed_form_with_a_zero_diagonal() -> None:
    g = collaborative.gram(X)
    weights = collaborative.ease(g, 1.0)
    assert np.allclose(np.diag(weights), 0.0)
    # the closed form minimises ||X - XB||^2 + lam ||B||^2 subject to diag(B) = 0: its gradient off the
    # diagonal is zero
    gradient = g @ weights - g + 1.0 * weights
    off_diagonal = gradient - np.diag(np.diag(gradient))
    assert np.allclose(off_diagonal, 0.0, atol=1e-9)
    assert weights[0, 1] > 0.3 and abs(weights[0, 2]) < 1e-9


def test_item_knn_keeps_the_k_nearest_by_cosine() -> None:
    neighbours = collaborative.cosine_neighbours(collaborative.gram(X), 1)
    dense = neighbours.toarray()
    assert dense[0, 1] == 1.0 and dense[2, 3] == 1.0  # one neighbour each, the perfect co-occurrence
    assert (neighbours.getnnz(axis=1) <= 1).all()
    assert np.isclose(dense[4, 2], 1 / np.sqrt(2)) or np.isclose(dense[4, 3], 1 / np.sqrt(2))


def test_popularity_halves_every_half_life() -> None:
    counts = decayed_counts(np.array([0, 1, 1]), np.array([0.0, 7.0, 14.0]), 3, 7.0)
    assert np.allclose(counts, [1.0, 0.5 + 0.25, 0.0])
    assert np.allclose(decayed_counts(np.array([0, 1, 1]), np.array([0.0, 7.0, 14.0]), 2, None), [1, 2])


def test_mmr_spreads_a_list_of_near_identical_items() -> None:
    vectors = np.array([[1, 0], [0.999, 0.045], [0, 1]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    relevance = np.array([1.0, 0.95, 0.6])
    assert diversify(relevance, vectors, 2, 0.0).tolist() == [0, 1]
    assert diversify(relevance, vectors, 2, 0.5).tolist() == [0, 2]


def catalogue(n: int = 5) -> list[CatalogueItem]:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [CatalogueItem(f"d{i}", "default", f"Article {i}", f"a{i}.md", vectors[i]) for i in range(n)]


def fitted(params: FitParams = FitParams()) -> RecommenderModel:
    now = utcnow()
    engaged = [
        Engagement(f"u{u}", f"d{i}", now - timedelta(days=u))
        for u, row in enumerate(X.toarray())
        for i in np.flatnonzero(row)
    ]
    return fit(catalogue(), engaged, now, params, 8)


def test_a_model_survives_its_payload() -> None:
    model = fitted()
    loaded = RecommenderModel.from_bytes(model.to_bytes())
    assert loaded.ids == model.ids and loaded.params == model.params
    assert np.allclose(loaded.popularity, model.popularity)
    assert (loaded.ease != model.ease).nnz == 0 and (loaded.neighbours != model.neighbours).nnz == 0
    assert np.allclose(loaded.vectors, model.vectors, atol=1e-3)  # float16 on disk


def test_the_item_cap_leaves_rare_items_out_of_the_collaborative_weights() -> None:
    model = fitted(FitParams(max_items=4))
    assert model.ease[4].nnz == 0 and model.ease[:, 4].nnz == 0  # item 4, engaged once, is past the cap
    assert model.ease[0, 1] > 0


def test_recommendations_say_why() -> None:
    model = fitted()
    allowed = np.ones(len(model), dtype=bool)
    allowed[0] = False
    collaborative_only = Weights(ease=1.0, knn=0.0, popularity=0.0, content=0.0, context=0.0)
    picks = ranking.recommend(
        model, ranking.Profile.of(np.array([0])), allowed, 1, weights=collaborative_only, diversity=0.0
    )
    assert [(p.index, p.reason) for p in picks] == [(1, "people who read Article 0 also read this")]
    popular_only = Weights(ease=0.0, knn=0.0, popularity=1.0, content=0.0, context=0.0)
    picks = ranking.recommend(model, ranking.NOBODY, allowed, 2, weights=popular_only)
    assert {p.reason for p in picks} == {"popular this month"}
    context_only = Weights(ease=0.0, knn=0.0, popularity=0.0, content=0.0, context=1.0)
    picks = ranking.recommend(
        model, ranking.NOBODY, allowed, 1, context=model.vectors[3], weights=context_only
    )
    assert [(p.index, p.reason) for p in picks] == [(3, "matches your question")]
    content_only = Weights(ease=0.0, knn=0.0, popularity=0.0, content=1.0, context=0.0)
    picks = ranking.recommend(model, ranking.Profile.of(np.array([0])), allowed, 1, weights=content_only)
    assert picks[0].reason == "similar to Article 0"


def test_related_leaves_out_the_article_its_near_duplicates_and_its_namesakes() -> None:
    model = fitted()
    model.vectors[2] = model.vectors[1]  # a near-duplicate of article 1
    model.titles[3] = "  article 1 "  # the same title, differently spelt
    allowed = np.ones(len(model), dtype=bool)
    picks = ranking.related(model, model.vectors[1], 1, allowed, 5, title="Article 1", source="a1.md")
    assert {p.index for p in picks} <= {0, 4}
    assert any(p.index == 0 and p.reason == "people who read Article 1 also read this" for p in picks)


def test_what_a_user_read_long_ago_counts_less_than_what_they_read_lately() -> None:
    model = fitted()
    profile = ranking.Profile.of(np.array([0, 2]), np.array([0.0, 730.0]), 365.0)
    assert np.allclose(profile.strengths, [1.0, 0.25])
    raw = ranking.signals(model, profile)
    assert raw["ease"][1] > 3 * raw["ease"][3] > 0  # 1 goes with the recent 0, 3 with the old 2
    alike = ranking.signals(model, ranking.Profile.of(np.array([0, 2]), np.array([0.0, 730.0]), None))
    assert alike["ease"][1] < 2 * alike["ease"][3]
