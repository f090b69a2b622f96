"""The adapter's linear map on synthetic vectors: fitting moves queries towards their positives, and a stored
matrix maps queries to unit vectors the same way after a round trip."""

from __future__ import annotations

import numpy as np
import pytest

from lore.intelligence.adapter_model import Examples, LinearAdapter, decode, encode, fit, pool_ndcg

DIM = 16


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)).astype(np.float32)


def rotated_world(seed: int = 0, queries_per_document: int = 12) -> Examples:
    """Documents whose queries point elsewhere: each query is its document's vector under a fixed rotation, plus
    noise. The base ranking is poor; one linear map (the inverse rotation) makes it perfect."""
    rng = np.random.default_rng(seed)
    documents = unit(rng.normal(size=(20, DIM)))
    rotation, _ = np.linalg.qr(rng.normal(size=(DIM, DIM)))
    labels = np.repeat(np.arange(len(documents)), queries_per_document)
    noise = 0.15 * rng.normal(size=(len(labels), DIM))
    queries = unit(documents[labels] @ rotation + noise)
    return Examples(queries, [np.array([label]) for label in labels], documents, np.arange(len(documents)))


def halves(examples: Examples) -> tuple[Examples, Examples]:
    rows = list(range(len(examples)))
    return examples.subset(rows[::2]), examples.subset(rows[1::2])


def test_fitting_learns_a_map_that_generalises_to_other_queries() -> None:
    train, validation = halves(rotated_world())
    fitted = fit(train, validation)
    assert fitted.validation_before < 0.5
    assert fitted.validation_after > fitted.validation_before + 0.3
    assert fitted.epochs > 0
    assert pool_ndcg(fitted.matrix, validation) == pytest.approx(fitted.validation_after)


def test_the_identity_is_kept_when_nothing_beats_it() -> None:
    rng = np.random.default_rng(1)
    documents = unit(rng.normal(size=(10, DIM)))
    exact = Examples(documents.copy(), [np.array([i]) for i in range(10)], documents, np.arange(10))
    fitted = fit(exact, exact)
    assert fitted.validation_before == 1.0 and fitted.epochs == 0
    np.testing.assert_array_equal(fitted.matrix, np.eye(DIM, dtype=np.float32))


def test_a_document_counts_once_in_the_pool_ranking() -> None:
    vectors = unit(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]))
    query = unit(np.array([[1.0, 0.05]]))
    # rows 0 and 1 are one document: the relevant one (row 2) ranks second, not third
    examples = Examples(query, [np.array([2])], vectors, np.array([7, 7, 8]))
    assert pool_ndcg(None, examples) == pytest.approx(1 / np.log2(3))


def test_a_stored_matrix_maps_queries_to_unit_vectors_alike() -> None:
    rng = np.random.default_rng(2)
    matrix = (np.eye(DIM) + 0.1 * rng.normal(size=(DIM, DIM))).astype(np.float32)
    adapter = LinearAdapter("mdl_1", 1, "model", decode(encode(matrix)))
    query = unit(rng.normal(size=DIM))
    adapted = adapter.apply(query)
    np.testing.assert_allclose(adapted, unit(query @ matrix), atol=1e-6)
    assert not adapted.flags.writeable
    with pytest.raises(ValueError, match="square"):
        decode(encode(np.ones((2, 3), dtype=np.float32)))
