"""Vector search on one thread: numpy exact search (the reference), usearch exact and usearch HNSW through
`UsearchIndex`, each with its recall@10 against brute force, and the index's build, save and load times.

    .venv/bin/python bench/bench_vector.py [--n 100000] [--dim 384] [--queries 200] [--build-threads 2]

The vectors are synthetic and unit length: topics in a 48-d latent space seen through a random projection, plus
noise. That is closer to text embeddings than isotropic noise (on which HNSW is both slower to build and less
accurate), but easier than real ones: recall here is ~1.00 from ef=32 up, while DESIGN.md §9 measured 0.97 at
ef=32 and 0.998 at ef=128 on MiniLM vectors, so read the latencies here and the recall there. Building the graph
takes most of the run: 2-4 minutes for 100k vectors on this machine depending on its load (`--n 20000` for a
quick look). Figures are wall clock and thread CPU time; the latter is what a busy machine disturbs less.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: one thread per query (DESIGN §9)

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchkit import percentiles_ms, ratio, table, write_result
from lore.backends.vector.hnsw import HnswOptions
from lore.backends.vector.usearch_index import UsearchIndex

PARTITION = "bench/default/synthetic"
K = 10


def clustered_unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    projection = rng.standard_normal((48, dim)).astype(np.float32)
    topics = rng.standard_normal((200, 48)).astype(np.float32)
    latent = topics[rng.integers(0, 200, n)] + 0.7 * rng.standard_normal((n, 48)).astype(np.float32)
    x = latent @ projection + 0.25 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def measure(
    search: Callable[[np.ndarray], list[int]], queries: np.ndarray, truth: np.ndarray
) -> dict[str, Any]:
    """Latency percentiles (wall clock, and thread CPU, which a busy machine disturbs less) and recall@10."""
    for query in queries[:10]:
        search(query)
    wall, cpu, hits = [], [], 0
    for query, expected in zip(queries, truth, strict=True):
        start, start_cpu = time.perf_counter(), time.thread_time()
        found = search(query)
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        hits += len(set(found) & set(expected.tolist()))
    return {**percentiles_ms(wall), "cpu_p50": percentiles_ms(cpu)["p50"], "recall": hits / truth.size}


def numpy_exact(vectors: np.ndarray) -> Callable[[np.ndarray], list[int]]:
    def search(query: np.ndarray) -> list[int]:
        scores = vectors @ query
        top = np.argpartition(-scores, K)[:K]  # not argpartition(s, -k): see DESIGN §9
        return (top[np.argsort(-scores[top])] + 1).tolist()

    return search


def through_index(index: UsearchIndex, allowed: set[int] | None = None) -> Callable[[np.ndarray], list[int]]:
    return lambda query: [i for i, _ in index.search([PARTITION], query, K, allowed)]


def filtered_truth(scores: np.ndarray, allowed: set[int]) -> np.ndarray:
    mask = np.zeros(scores.shape[1], dtype=bool)
    mask[np.fromiter(allowed, dtype=np.int64) - 1] = True
    return np.argsort(-np.where(mask, scores, -np.inf), axis=1)[:, :K] + 1


def build(directory: Path, vectors: np.ndarray, threads: int) -> tuple[float, float]:
    """Seconds to build the graph and to save it."""
    index = UsearchIndex(directory, vectors.shape[1], hnsw=HnswOptions(exact_below=0), add_threads=threads)
    start = time.perf_counter()
    for first in range(0, len(vectors), 10_000):
        batch = vectors[first : first + 10_000]
        index.add(PARTITION, np.arange(first + 1, first + 1 + len(batch)), batch)
        print(f"  built {first + len(batch):,} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    index.save()
    return seconds, time.perf_counter() - start


def opened(directory: Path, dim: int, loads: list[float], hnsw: HnswOptions) -> UsearchIndex:
    start = time.perf_counter()
    index = UsearchIndex(directory, dim, hnsw=hnsw)
    loads.append(time.perf_counter() - start)
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="vectors in the index")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--build-threads", type=int, default=2, help="threads that build the graph")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    data = clustered_unit_vectors(args.n + args.queries, args.dim, args.seed)
    vectors, queries = data[: args.n], data[args.n :]
    scores = queries @ vectors.T
    truth = np.argsort(-scores, axis=1)[:, :K] + 1
    rng = np.random.default_rng(args.seed)
    few = set((rng.choice(args.n, 1_000, replace=False) + 1).tolist())
    half = set(range(1, args.n + 1, 2))

    rows: dict[str, dict[str, Any]] = {"numpy exact": measure(numpy_exact(vectors), queries, truth)}
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        build_s, save_s = build(directory, vectors, args.build_threads)
        file_mb = sum(p.stat().st_size for p in directory.glob("*.usearch")) / 1e6
        exact = opened(directory, args.dim, loads, HnswOptions(exact_below=args.n + 1))
        rows["usearch exact"] = measure(through_index(exact), queries, truth)
        del exact
        for ef in (32, 64, 128):
            hnsw = opened(directory, args.dim, loads, HnswOptions(exact_below=0, expansion_search=ef))
            rows[f"usearch HNSW ef={ef}"] = measure(through_index(hnsw), queries, truth)
        rows["HNSW ef=128, 1k allowed ids"] = measure(
            through_index(hnsw, few), queries, filtered_truth(scores, few)
        )
        rows["HNSW ef=128, half allowed"] = measure(
            through_index(hnsw, half), queries, filtered_truth(scores, half)
        )

    reference = rows["numpy exact"]["p50"]
    print(f"\n{args.n:,} × {args.dim} unit vectors, k={K}, one thread, {args.queries} queries\n")
    header = ["method", "p50 ms", "p99 ms", "cpu p50 ms", "recall@10", "p50 / numpy"]
    print(
        table(
            header,
            [
                [name, r["p50"], r["p99"], r["cpu_p50"], r["recall"], ratio(r["p50"], reference)]
                for name, r in rows.items()
            ],
        )
    )
    index_figures = {
        "build_s": round(build_s, 1),
        "build_vectors_per_s": round(args.n / build_s),
        "build_threads": args.build_threads,
        "save_s": round(save_s, 2),
        "load_s_median": round(float(np.median(loads)), 2),
        "file_mb": round(file_mb, 1),
    }
    print("\n" + "  ".join(f"{key} {value}" for key, value in index_figures.items()))
    path = write_result("vector", {"args": vars(args), "search": rows, "index": index_figures})
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
