"""What only the usearch backend promises: its HNSW path and recall, its files, and surviving crashes and a
second process that shares the directory. The behaviour every backend shares is in tests/contracts."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lore.backends.vector.hnsw import HnswOptions
from lore.backends.vector.usearch_index import UsearchIndex
from lore.errors import InvalidInput

DIM = 32
P = "default/default/minilm@int8"
Q = "acme/support docs/minilm@int8"


def unit_vectors(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered_unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    """Topics in a 48-d latent space seen through a random 384-d projection, plus noise: closer to text
    embeddings than isotropic noise, whose HNSW graph is both slow to build and unrepresentative."""
    rng = np.random.default_rng(seed)
    projection = rng.standard_normal((48, dim)).astype(np.float32)
    topics = rng.standard_normal((200, 48)).astype(np.float32)
    latent = topics[rng.integers(0, 200, n)] + 0.7 * rng.standard_normal((n, 48)).astype(np.float32)
    x = latent @ projection + 0.25 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def recall_at_10(index: UsearchIndex, queries: np.ndarray, truth: np.ndarray) -> float:
    found = [{i for i, _ in index.search([P], q, 10)} for q in queries]
    return float(np.mean([len(f & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)]))


def manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text())


def partition_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.usearch"))


def only_the_snapshot_is_left(directory: Path) -> bool:
    expected = [".lock", "manifest.json", *manifest_files(directory)]
    return sorted(p.name for p in directory.iterdir()) == sorted(expected)


def manifest_files(directory: Path) -> list[str]:
    return [entry["file"] for entry in manifest(directory)["partitions"].values()]


@pytest.fixture
def saved(tmp_path: Path) -> Iterator[Path]:
    """A directory with a saved snapshot: 100 vectors in P (ids 1..100), 10 in Q, applied_seq 7."""
    index = UsearchIndex(tmp_path, DIM)
    index.add(P, np.arange(1, 101), unit_vectors(100))
    index.add(Q, np.arange(501, 511), unit_vectors(10, seed=1))
    index.mark_applied(7)
    index.save()
    yield tmp_path


# -- HNSW ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hnsw(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """20k clustered 384-d vectors indexed on the HNSW path (built once: that is the slow part)."""
    directory = tmp_path_factory.mktemp("hnsw")
    data = clustered_unit_vectors(20_200, 384, seed=3)
    vectors, queries = data[:20_000], data[20_000:]
    index = UsearchIndex(
        directory, 384, add_threads=2, hnsw=HnswOptions(exact_below=1_000, connectivity=16, expansion_add=64)
    )
    index.add(P, np.arange(1, 20_001), vectors)
    index.save()
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10] + 1
    return directory, queries, truth


def test_hnsw_recall_at_10_is_at_least_095(hnsw: tuple[Path, np.ndarray, np.ndarray]) -> None:
    directory, queries, truth = hnsw
    assert (
        recall_at_10(UsearchIndex(directory, 384, hnsw=HnswOptions(exact_below=1_000)), queries, truth)
        >= 0.95
    )


def test_the_threshold_switches_between_hnsw_and_exact(hnsw: tuple[Path, np.ndarray, np.ndarray]) -> None:
    directory, queries, truth = hnsw
    narrow = UsearchIndex(directory, 384, hnsw=HnswOptions(exact_below=1_000, expansion_search=10))
    assert recall_at_10(narrow, queries, truth) < 1.0  # a narrow beam misses some: the graph was searched
    exact = UsearchIndex(directory, 384, hnsw=HnswOptions(exact_below=50_000, expansion_search=10))
    assert recall_at_10(exact, queries, truth) == 1.0


def test_filtered_search_on_the_hnsw_path(hnsw: tuple[Path, np.ndarray, np.ndarray]) -> None:
    directory, queries, _ = hnsw
    index = UsearchIndex(directory, 384, hnsw=HnswOptions(exact_below=1_000))
    vectors = clustered_unit_vectors(20_200, 384, seed=3)[:20_000]
    for query in queries[:5]:
        scores = vectors @ query
        far = set((np.argsort(scores)[:3_000] + 1).tolist())  # nowhere near the HNSW top: exact fallback
        got = index.search([P], query, 10, far)
        expected = np.argsort(-np.where(np.isin(np.arange(1, 20_001), list(far)), scores, -np.inf))[:10] + 1
        assert [i for i, _ in got] == expected.tolist()
        half = set(range(1, 20_001, 2))  # common enough for over-fetching from the graph
        assert all(i in half for i, _ in index.search([P], query, 10, half))
        assert len(index.search([P], query, 10, half)) == 10


# -- files ---------------------------------------------------------------------------------------------------


def test_one_file_per_partition_and_a_manifest(saved: Path) -> None:
    data = manifest(saved)
    assert (data["format"], data["dim"], data["applied_seq"]) == (1, DIM, 7)
    assert sorted(data["partitions"]) == sorted([P, Q])
    files = manifest_files(saved)
    assert only_the_snapshot_is_left(saved)
    assert any(name.startswith("acme-support-docs-minilm-int8-") for name in files)
    assert all("-7-" in name for name in files)  # the seq the file was written at


def test_ids_and_vectors_round_trip_through_the_file(tmp_path: Path) -> None:
    vectors = unit_vectors(300, seed=4)
    ids = np.arange(10, 310)
    index = UsearchIndex(tmp_path, DIM)
    index.add(P, ids, vectors)
    index.save()
    from usearch.index import Index  # only after lore's module: onnxruntime must load before usearch

    stored = Index.restore(tmp_path / manifest(tmp_path)["partitions"][P]["file"])
    assert stored is not None
    assert sorted(stored.keys[:].tolist()) == ids.tolist()
    assert np.array_equal(np.vstack(stored.get(ids)), vectors)


def test_only_changed_partitions_are_rewritten(saved: Path) -> None:
    index = UsearchIndex(saved, DIM)
    before = manifest(saved)["partitions"]
    index.remove(P, [1])
    index.mark_applied(8)
    index.save()
    after = manifest(saved)["partitions"]
    assert after[Q] == before[Q]
    assert after[P]["file"] != before[P]["file"]
    assert len(partition_files(saved)) == 2  # the old file of P is gone


def test_changes_not_saved_are_not_on_disk(saved: Path) -> None:
    index = UsearchIndex(saved, DIM)
    index.add(P, np.arange(1_000, 1_010), unit_vectors(10, seed=5))
    index.mark_applied(99)
    reopened = UsearchIndex(saved, DIM)
    assert (reopened.applied_seq, reopened.count(P)) == (7, 100)


def test_clear_then_save_removes_the_files(saved: Path) -> None:
    index = UsearchIndex(saved, DIM)
    index.clear()
    index.save()
    assert partition_files(saved) == []
    assert manifest(saved)["partitions"] == {}


def test_repeated_ids_in_one_batch_keep_the_last_vector(tmp_path: Path) -> None:
    first, last = unit_vectors(2, seed=6)
    index = UsearchIndex(tmp_path, DIM)
    index.add(P, np.array([5, 6, 5]), np.vstack([first, unit_vectors(1, seed=7)[0], last]))
    assert index.count(P) == 2
    assert index.search([P], last, 1)[0] == (5, pytest.approx(1.0, abs=1e-5))


def test_vectors_of_the_wrong_shape_are_refused(tmp_path: Path) -> None:
    index = UsearchIndex(tmp_path, DIM)
    with pytest.raises(InvalidInput):
        index.add(P, np.array([1]), unit_vectors(1, dim=DIM + 1))
    with pytest.raises(InvalidInput):
        index.add(P, np.array([1, 2]), unit_vectors(3))
    with pytest.raises(InvalidInput):
        index.search([P], unit_vectors(1, dim=8)[0], 3)
    assert index.count(P) == 0


# -- crash safety --------------------------------------------------------------------------------------------


def test_leftovers_of_a_crashed_save_are_ignored_then_removed(saved: Path) -> None:
    real = saved / manifest(saved)["partitions"][P]["file"]
    half = saved / "default-default-minilm-int8-0123456789ab-8-deadbeef.usearch"
    half.write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    (saved / f"{real.name}.0badf00d.tmp").write_bytes(b"\0" * 1000)
    (saved / "manifest.json.12345678.tmp").write_text('{"format": 1, "applied_')

    index = UsearchIndex(saved, DIM)
    assert (index.applied_seq, index.count(P), index.count(Q)) == (7, 100, 10)
    index.save()
    assert only_the_snapshot_is_left(saved)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: (d / "manifest.json").write_bytes(b"\x00{not json"), id="corrupt-manifest"),
        pytest.param(lambda d: (d / "manifest.json").write_text('{"format": 1}'), id="incomplete-manifest"),
        pytest.param(lambda d: next(d.glob("*.usearch")).unlink(), id="missing-partition-file"),
        pytest.param(lambda d: _flip_middle_bytes(next(d.glob("*.usearch"))), id="damaged-partition-file"),
        pytest.param(lambda d: next(d.glob("*.usearch")).write_bytes(b"x"), id="truncated-partition-file"),
    ],
)
def test_an_unreadable_snapshot_starts_empty_with_a_warning(
    saved: Path, damage: object, caplog: pytest.LogCaptureFixture
) -> None:
    damage(saved)  # type: ignore[operator]
    with caplog.at_level(logging.WARNING):
        index = UsearchIndex(saved, DIM)
    assert (index.applied_seq, index.count(P), index.count(Q)) == (0, 0, 0)
    assert "starting empty" in caplog.text
    index.add(P, np.arange(1, 4), unit_vectors(3))  # the caller rebuilds and saves a good snapshot
    index.mark_applied(3)
    index.save()
    assert UsearchIndex(saved, DIM).count(P) == 3


def test_a_snapshot_of_another_dimension_starts_empty(saved: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        index = UsearchIndex(saved, DIM * 2)
    assert (index.applied_seq, index.count(P)) == (0, 0)
    assert "32-d" in caplog.text


def _flip_middle_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


DIE_DURING_THIRD_SAVE = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from lore.backends.vector.usearch_index import UsearchIndex

    directory, target, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
    watched = getattr(os, target, None)  # os.replace, not str.replace
    calls = 0

    def die_before_nth_call(frame, event, function):
        global calls
        hit = function is watched if watched else getattr(function, "__name__", "") == target
        if event == "c_call" and hit:
            calls += 1
            if calls == nth:
                os.kill(os.getpid(), signal.SIGKILL)

    index = UsearchIndex(directory, 32)
    rng = np.random.default_rng(0)
    for seq in (1, 2, 3):
        for partition in ("a", "b", "c"):
            index.add(partition, np.arange(seq * 100, seq * 100 + 100), rng.standard_normal((100, 32)))
        index.mark_applied(seq)
        if seq == 3:
            sys.setprofile(die_before_nth_call)
        index.save()
    """
)


@pytest.mark.parametrize(
    ("target", "nth", "survivor"),
    [
        ("save_index_to_path", 1, 2),  # before writing the first new partition file
        ("save_index_to_path", 3, 2),
        ("fsync", 2, 2),  # partition files written but not yet durable
        ("replace", 1, 2),  # partition files complete under temporary names
        ("replace", 3, 2),
        ("fsync", 4, 2),  # every new partition file in place, the manifest not yet written
        ("replace", 4, 2),  # the new manifest complete under a temporary name
        ("fsync", 6, 3),  # the new manifest in place
        ("unlink", 1, 3),  # while deleting the files of the previous snapshot
    ],
)
def test_a_process_killed_at_any_step_of_a_save_leaves_a_complete_snapshot(
    tmp_path: Path, target: str, nth: int, survivor: int
) -> None:
    """The child kills itself just before the nth call to `target` in its third save."""
    command = [sys.executable, "-c", DIE_DURING_THIRD_SAVE, str(tmp_path), target, str(nth)]
    assert subprocess.run(command, check=False).returncode == -signal.SIGKILL

    index = UsearchIndex(tmp_path, 32)
    assert index.applied_seq == survivor
    assert [index.count(p) for p in "abc"] == [100 * survivor] * 3
    index.save()  # the next save removes whatever the dead one left behind
    assert only_the_snapshot_is_left(tmp_path)
    assert len(manifest_files(tmp_path)) == 3


def test_a_file_deleted_by_another_process_is_written_again(tmp_path: Path) -> None:
    first, second = UsearchIndex(tmp_path, DIM), UsearchIndex(tmp_path, DIM)
    first.add(P, np.arange(1, 11), unit_vectors(10))
    first.mark_applied(1)
    first.save()
    second.add(Q, np.arange(1, 6), unit_vectors(5))
    second.mark_applied(2)
    second.save()  # its snapshot does not name the file of P: the file is deleted
    first.save()  # nothing changed in `first`, but its snapshot must be complete again

    reopened = UsearchIndex(tmp_path, DIM)
    assert (reopened.applied_seq, reopened.count(P), reopened.count(Q)) == (1, 10, 0)


def test_concurrent_saves_always_leave_a_loadable_snapshot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two writers (as `lore serve` and `lore ingest` would be) save in turn while a reader keeps opening."""

    def write(index: UsearchIndex, partition: str, base: int) -> None:
        for i in range(1, 16):
            index.add(partition, np.arange(i * 10, i * 10 + 10), unit_vectors(10, seed=i))
            index.mark_applied(base + i)
            index.save()

    jobs = [(UsearchIndex(tmp_path, DIM), "a", 1000), (UsearchIndex(tmp_path, DIM), "b", 2000)]
    writers = [threading.Thread(target=write, args=job) for job in jobs]
    for writer in writers:
        writer.start()
    snapshots = 0
    with caplog.at_level(logging.WARNING):
        while any(writer.is_alive() for writer in writers) or snapshots == 0:
            index = UsearchIndex(tmp_path, DIM)
            seq = index.applied_seq
            if seq:
                own, other = ("a", "b") if seq < 2000 else ("b", "a")
                assert (index.count(own), index.count(other)) == (10 * (seq % 1000), 0)
                snapshots += 1
    for writer in writers:
        writer.join()
    assert "unreadable" not in caplog.text
