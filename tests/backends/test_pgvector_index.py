"""What only the pgvector index promises: one shared state for every replica, upserts that leave identical
rows alone, an HNSW graph built once a table is large, filtered HNSW search, and one table per dimension.
The behaviour every index shares is in tests/contracts/test_vector_contract.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from lore.backends.vector.hnsw import HnswOptions
from lore.backends.vector.pgvector import PgvectorIndex
from lore.errors import InvalidInput

DIM = 32
A, B = "t/a/m", "t/b/m"

Opener = Callable[..., PgvectorIndex]


@pytest.fixture
def open_index(database_url: str) -> Iterator[Opener]:
    opened: list[PgvectorIndex] = []

    def open_one(**options: Any) -> PgvectorIndex:
        index = PgvectorIndex(database_url, pool_size=2, **options)
        opened.append(index)
        return index

    yield open_one
    for index in opened:
        index.close()


def unit_vectors(n: int, seed: int, dim: int = DIM) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def nearest(ids: np.ndarray, matrix: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return [int(ids[i]) for i in np.argsort(-(matrix @ query))[:k]]


def test_replicas_share_vectors_and_applied_seq_never_moves_back(open_index: Opener) -> None:
    first, second = open_index(), open_index()
    matrix = unit_vectors(20, seed=1)
    first.add(A, np.arange(1, 21), matrix)
    assert second.count(A) == 20
    assert second.search([A], matrix[4], 1)[0].chunk_id == 5
    first.mark_applied(10)
    second.mark_applied(5)  # a replica that lags behind replays older changes
    assert first.applied_seq == second.applied_seq == 10


def test_an_identical_upsert_leaves_the_row_alone(open_index: Opener) -> None:
    index = open_index()
    matrix = unit_vectors(3, seed=2)
    index.add(A, np.array([1, 2, 3]), matrix)

    def row_version(chunk_id: int) -> str:
        with index.engine.connect() as conn:
            sql = f"SELECT xmin::text FROM pgvector_d{DIM} WHERE partition = '{A}' AND chunk_id = {chunk_id}"
            return str(conn.exec_driver_sql(sql).scalar_one())

    before = [row_version(i) for i in (1, 2, 3)]
    index.add(A, np.array([1, 2, 3]), np.vstack([matrix[0], matrix[1], -matrix[2]]))
    after = [row_version(i) for i in (1, 2, 3)]
    assert after[:2] == before[:2]  # replayed by another replica: no new row version, no new graph entry
    assert after[2] != before[2]
    ids, stored = index.vectors([A], [3])
    assert ids.tolist() == [3] and np.allclose(stored[0], -matrix[2])


def test_hnsw_is_built_once_large_and_filters_keep_k_results(open_index: Opener) -> None:
    index = open_index(hnsw=HnswOptions(exact_below=50), index_above=300, exact_allowed=10)
    matrix = unit_vectors(400, seed=3)
    ids = np.arange(1, 401)
    index.add(A, ids[:200], matrix[:200])
    assert not _has_hnsw(index)
    index.add(A, ids[200:], matrix[200:])
    index.add(B, ids + 1000, unit_vectors(400, seed=4))
    assert _has_hnsw(index)
    queries = unit_vectors(10, seed=5)
    found = sum(
        len({i for i, _ in index.search([A], q, 10)} & set(nearest(ids, matrix, q, 10))) for q in queries
    )
    assert found >= 90  # recall@10 of the graph, searched within one partition of two
    allowed = set(range(1, 401, 8))  # 50 ids: more than `exact_allowed`, so the graph is filtered
    for q in queries:
        hits = index.search([A], q, 10, allowed)
        assert len(hits) == 10 and {i for i, _ in hits} <= allowed
        assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)


def _has_hnsw(index: PgvectorIndex) -> bool:
    with index.engine.connect() as conn:
        sql = f"SELECT count(*) FROM pg_indexes WHERE indexname = 'pgvector_d{DIM}_hnsw'"
        return bool(conn.exec_driver_sql(sql).scalar_one())


def test_each_dimension_has_its_own_table(open_index: Opener) -> None:
    index = open_index()
    index.add(A, np.array([1, 2]), unit_vectors(2, seed=6, dim=8))
    index.add(B, np.array([3]), unit_vectors(1, seed=7, dim=16))
    assert {i for i, _ in index.search([A, B], unit_vectors(1, seed=8, dim=8)[0], 5)} == {1, 2}
    assert {i for i, _ in index.search([A, B], unit_vectors(1, seed=9, dim=16)[0], 5)} == {3}
    assert index.search([A], unit_vectors(1, seed=10, dim=12)[0], 5) == []
    assert (index.count(A), index.count(B)) == (2, 1)


@pytest.mark.parametrize(
    ("ids", "vectors"),
    [
        (np.array([1, 2]), np.ones((1, DIM), np.float32)),
        (np.array([1]), np.full((1, DIM), np.nan, np.float32)),
        (np.array([1]), np.ones(DIM, np.float32)),
    ],
)
def test_malformed_batches_are_invalid_input(
    open_index: Opener, ids: np.ndarray, vectors: np.ndarray
) -> None:
    with pytest.raises(InvalidInput):
        open_index().add(A, ids, vectors)
