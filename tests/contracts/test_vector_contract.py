"""The `VectorIndex` contract: one body per behaviour, run against every backend through the protocol only.

A backend joins by adding a factory to `BACKENDS`; each test gets a fresh, empty index, and `reopen` opens
another instance over the same storage (what a restarted process sees). A factory gets the test's temporary
directory and the pytest request, from which a database backend takes a fresh database (`database_url`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lore.interfaces import VectorIndex

DIM = 384
A = "default/default/minilm@int8"
B = "default/other/minilm@int8"
OTHER_TENANT = "acme/default/minilm@int8"

Factory = Callable[[Path, pytest.FixtureRequest], Callable[[], VectorIndex]]


def _usearch(directory: Path, _request: pytest.FixtureRequest) -> Callable[[], VectorIndex]:
    from lore.backends.vector.usearch_index import UsearchIndex

    return lambda: UsearchIndex(directory / "index", DIM)


def _pgvector(_directory: Path, request: pytest.FixtureRequest) -> Callable[[], VectorIndex]:
    from lore.backends.vector.pgvector import PgvectorIndex

    url = request.getfixturevalue("database_url")

    def open_index() -> VectorIndex:
        index = PgvectorIndex(url, pool_size=1)
        request.addfinalizer(index.close)
        return index

    return open_index


BACKENDS: dict[str, Factory] = {"usearch": _usearch, "pgvector": _pgvector}


@pytest.fixture(params=sorted(BACKENDS))
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], VectorIndex]:
    return BACKENDS[request.param](tmp_path, request)


@pytest.fixture
def vector_index(reopen: Callable[[], VectorIndex]) -> VectorIndex:
    return reopen()


# -- helpers -------------------------------------------------------------------------------------------------


def vectors(n: int, seed: int = 0) -> np.ndarray:
    """Random directions with random lengths: the index must rank by cosine, not by dot product."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    return x * rng.uniform(0.5, 3.0, (n, 1)).astype(np.float32)


def brute_force(ids: np.ndarray, matrix: np.ndarray, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    scores = (matrix @ query) / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    order = np.argsort(-scores)[:k]
    return [(int(ids[i]), float(scores[i])) for i in order]


def assert_same_hits(got: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [i for i, _ in got] == [i for i, _ in expected]
    assert np.allclose([s for _, s in got], [s for _, s in expected], atol=1e-5)


def fill(index: VectorIndex, partition: str, first_id: int, matrix: np.ndarray) -> np.ndarray:
    ids = np.arange(first_id, first_id + len(matrix), dtype=np.int64)
    index.add(partition, ids, matrix)
    return ids


# -- search --------------------------------------------------------------------------------------------------


def test_search_returns_nearest_by_cosine(vector_index: VectorIndex) -> None:
    matrix = vectors(500)
    ids = fill(vector_index, A, 1, matrix)
    for query in vectors(5, seed=1):
        assert_same_hits(vector_index.search([A], query, 10), brute_force(ids, matrix, query, 10))


def test_a_stored_vector_finds_itself_with_score_one(vector_index: VectorIndex) -> None:
    matrix = vectors(50)
    fill(vector_index, A, 100, matrix)
    (best_id, best_score), *_ = vector_index.search([A], matrix[7], 3)
    assert best_id == 107
    assert best_score == pytest.approx(1.0, abs=1e-5)


def test_k_larger_than_count_returns_everything_best_first(vector_index: VectorIndex) -> None:
    matrix = vectors(5)
    ids = fill(vector_index, A, 1, matrix)
    query = vectors(1, seed=2)[0]
    assert_same_hits(vector_index.search([A], query, 50), brute_force(ids, matrix, query, 50))


def test_empty_index_and_unknown_partitions_return_nothing(vector_index: VectorIndex) -> None:
    query = vectors(1)[0]
    assert vector_index.search([A], query, 10) == []
    assert vector_index.search([], query, 10) == []
    fill(vector_index, A, 1, vectors(3))
    assert vector_index.search([B], query, 10) == []
    assert vector_index.count(B) == 0


def test_a_read_only_query_is_accepted(vector_index: VectorIndex) -> None:
    fill(vector_index, A, 1, vectors(10))
    query = vectors(1, seed=3)[0]
    query.flags.writeable = False  # query embeddings are shared read-only through the LRU
    assert len(vector_index.search([A], query, 3)) == 3


# -- writes --------------------------------------------------------------------------------------------------


def test_vectors_returns_stored_vectors_of_present_ids_in_request_order(vector_index: VectorIndex) -> None:
    a, b = vectors(5, seed=1), vectors(3, seed=2)
    fill(vector_index, A, 10, a)
    fill(vector_index, B, 20, b)
    vector_index.remove(A, [11])
    ids, found = vector_index.vectors([A, B], [21, 11, 999, 10, 14, -1])
    assert ids.tolist() == [21, 10, 14]
    assert np.allclose(found, np.stack([b[1], a[0], a[4]]), atol=1e-6)
    ids, found = vector_index.vectors([B], [10])  # another partition's ids stay out of reach
    assert ids.tolist() == [] and found.shape == (0, DIM)


def test_count_follows_adds_and_removes(vector_index: VectorIndex) -> None:
    fill(vector_index, A, 1, vectors(20))
    assert vector_index.count(A) == 20
    vector_index.remove(A, [1, 2, 3])
    assert vector_index.count(A) == 17


def test_adding_an_existing_id_replaces_its_vector(vector_index: VectorIndex) -> None:
    old, new = vectors(2, seed=4)
    fill(vector_index, A, 1, vectors(30))
    vector_index.add(A, np.array([50]), old[None, :])
    vector_index.add(A, np.array([50]), new[None, :])
    assert vector_index.count(A) == 31
    assert vector_index.search([A], new, 1)[0] == (50, pytest.approx(1.0, abs=1e-5))
    assert all(score < 0.5 for i, score in vector_index.search([A], old, 31) if i == 50)


def test_removed_ids_are_never_returned_and_unknown_ids_are_ignored(vector_index: VectorIndex) -> None:
    matrix = vectors(100)
    ids = fill(vector_index, A, 1, matrix)
    removed = list(range(1, 100, 2))
    vector_index.remove(A, [*removed, 10_000, 10_001])
    vector_index.remove(B, [1, 2])  # an unknown partition is not an error
    keep = np.isin(ids, removed, invert=True)
    for query in matrix[:5]:
        got = vector_index.search([A], query, 100)
        assert len(got) == 50
        assert_same_hits(got, brute_force(ids[keep], matrix[keep], query, 100))


def test_a_removed_id_can_be_added_again(vector_index: VectorIndex) -> None:
    matrix = vectors(10)
    fill(vector_index, A, 1, matrix)
    vector_index.remove(A, [4])
    vector_index.add(A, np.array([4]), matrix[3:4])
    assert vector_index.count(A) == 10
    assert vector_index.search([A], matrix[3], 1)[0].chunk_id == 4


# -- partitions ----------------------------------------------------------------------------------------------


def test_partitions_are_isolated(vector_index: VectorIndex) -> None:
    matrix = vectors(40)
    fill(vector_index, A, 1, matrix)
    fill(vector_index, OTHER_TENANT, 1001, matrix)  # the same vectors under another tenant
    for query in matrix[:5]:
        assert {i for i, _ in vector_index.search([A], query, 40)} <= set(range(1, 41))
        assert {i for i, _ in vector_index.search([OTHER_TENANT], query, 40)} <= set(range(1001, 1041))
    assert vector_index.count(A) == vector_index.count(OTHER_TENANT) == 40


def test_searching_several_partitions_merges_by_score(vector_index: VectorIndex) -> None:
    first, second = vectors(200, seed=5), vectors(300, seed=6)
    ids = np.concatenate([fill(vector_index, A, 1, first), fill(vector_index, B, 1001, second)])
    both = np.vstack([first, second])
    for query in vectors(5, seed=7):
        assert_same_hits(vector_index.search([A, B], query, 15), brute_force(ids, both, query, 15))


# -- allowed ids ---------------------------------------------------------------------------------------------


def test_allowed_restricts_results_to_those_ids(vector_index: VectorIndex) -> None:
    matrix = vectors(300)
    ids = fill(vector_index, A, 1, matrix)
    allowed = set(range(1, 301, 7)) | {99_999}  # an id the index does not hold is ignored
    keep = np.isin(ids, list(allowed))
    for query in vectors(5, seed=8):
        got = vector_index.search([A], query, 10, allowed)
        assert_same_hits(got, brute_force(ids[keep], matrix[keep], query, 10))


def test_allowed_ids_far_from_the_query_are_still_returned(vector_index: VectorIndex) -> None:
    query = vectors(1, seed=9)[0]
    near = query + 0.1 * vectors(200, seed=10)
    far = -query + 0.1 * vectors(3, seed=11)
    fill(vector_index, A, 1, near)
    fill(vector_index, A, 1001, far)
    got = vector_index.search([A], query, 10, {1001, 1002, 1003})
    assert sorted(i for i, _ in got) == [1001, 1002, 1003]
    assert all(score < -0.9 for _, score in got)


def test_large_allowed_sets_are_exact(vector_index: VectorIndex) -> None:
    matrix = vectors(3000, seed=12)
    ids = fill(vector_index, A, 1, matrix)
    query = vectors(1, seed=13)[0]
    most = set(range(1, 3001)) - set(range(1, 3001, 5))  # 2400 ids, spread like the rest
    farthest = {i for i, _ in brute_force(ids, matrix, -query, 600)}  # none of them near the query
    for allowed in (most, farthest):
        keep = np.isin(ids, list(allowed))
        got = vector_index.search([A], query, 20, allowed)
        assert_same_hits(got, brute_force(ids[keep], matrix[keep], query, 20))


def test_allowed_applies_across_partitions_and_empty_allowed_finds_nothing(vector_index: VectorIndex) -> None:
    first, second = vectors(50, seed=14), vectors(50, seed=15)
    fill(vector_index, A, 1, first)
    fill(vector_index, B, 101, second)
    got = vector_index.search([A, B], first[0], 10, {1, 2, 101, 102})
    assert {i for i, _ in got} == {1, 2, 101, 102}
    assert got[0].chunk_id == 1
    assert vector_index.search([A, B], first[0], 10, set()) == []


# -- persistence ---------------------------------------------------------------------------------------------


def test_applied_seq_starts_at_zero_and_follows_mark_applied(vector_index: VectorIndex) -> None:
    assert vector_index.applied_seq == 0
    vector_index.mark_applied(17)
    assert vector_index.applied_seq == 17


def test_saved_state_survives_reopening(vector_index: VectorIndex, reopen: Callable[[], VectorIndex]) -> None:
    matrix = vectors(200)
    ids = fill(vector_index, A, 1, matrix)
    fill(vector_index, OTHER_TENANT, 1001, vectors(30, seed=16))
    vector_index.remove(A, [5, 6])
    vector_index.mark_applied(42)
    vector_index.save()

    reopened = reopen()
    assert reopened.applied_seq == 42
    assert (reopened.count(A), reopened.count(OTHER_TENANT)) == (198, 30)
    keep = np.isin(ids, [5, 6], invert=True)
    query = vectors(1, seed=17)[0]
    assert_same_hits(reopened.search([A], query, 10), brute_force(ids[keep], matrix[keep], query, 10))


def test_what_was_saved_stays_after_closing(
    vector_index: VectorIndex, reopen: Callable[[], VectorIndex]
) -> None:
    fill(vector_index, A, 1, vectors(20))
    vector_index.mark_applied(7)
    vector_index.save()
    vector_index.close()

    reopened = reopen()
    assert (reopened.applied_seq, reopened.count(A)) == (7, 20)


def test_saving_again_after_more_changes(
    vector_index: VectorIndex, reopen: Callable[[], VectorIndex]
) -> None:
    fill(vector_index, A, 1, vectors(20))
    vector_index.mark_applied(1)
    vector_index.save()
    fill(vector_index, B, 101, vectors(10, seed=18))
    vector_index.remove(A, [1])
    vector_index.mark_applied(2)
    vector_index.save()
    vector_index.save()  # nothing changed: still the same snapshot

    reopened = reopen()
    assert (reopened.applied_seq, reopened.count(A), reopened.count(B)) == (2, 19, 10)


def test_clear_drops_everything(vector_index: VectorIndex, reopen: Callable[[], VectorIndex]) -> None:
    fill(vector_index, A, 1, vectors(20))
    vector_index.mark_applied(9)
    vector_index.save()
    vector_index.clear()
    assert (vector_index.applied_seq, vector_index.count(A)) == (0, 0)
    assert vector_index.search([A], vectors(1)[0], 5) == []
    fill(vector_index, A, 1, vectors(3))  # usable again after clearing
    assert vector_index.count(A) == 3
    vector_index.clear()
    vector_index.save()

    reopened = reopen()
    assert (reopened.applied_seq, reopened.count(A)) == (0, 0)
