"""The cost curve: search latency, ingest throughput, memory and disk at 10k, 100k and 1M chunks.

    python bench/bench_scale.py [--sizes 10k,100k,1m] [--queries 300] [--postgres 100k]

Embedding a million chunks takes hours on this machine, so the corpora are built from real text and real
vectors. SciFact is chunked and embedded once by Lore (its configured MiniLM embedder) and cached under
`--cache`; that is the base set (~9k chunks), and its test queries are embedded with it. Every further chunk
is derived from two different base chunks a and b: the title of a, the first half of a's sentences followed by
the second half of b's (at most `DERIVED_WORDS` words, fewer where that would pass `FITS_TOKENS`, so that every
record is one chunk), and the vector normalise(v_a + v_b). Pairs are drawn without repetition, so no two derived
chunks share a text. Making the corpus (deriving, and the exact top-k) is timed apart and left out of the ingest
figures.

Each size runs in a process of its own (so its RSS is its own) on a fresh data dir: `Lore.add_corpus` through
the real chunk/write/index path, with an embedder that looks the vectors up (`TableEmbedder`, a benchmark-only
stand-in for Lore's `Embedder`) instead of computing them; then `Lore.search` on one thread, each query once per
mode, with the query vectors looked up the same way: so every latency excludes the query embedding. Recall@10
of vector search is against exact search (numpy, brute force over every chunk's vector, computed while the
corpus is generated). The reference in the same run is the 10k-chunk size: ratios are each size over it.
`--postgres` repeats a size on PostgreSQL + pgvector (the embedded server of the test suite).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from benchkit import (
    RESULTS,
    SCIFACT,
    SCIFACT_DATA,
    embedded_postgres,
    percentiles_ms,
    ratio,
    table,
    write_result,
)
from lore.config import Settings
from lore.core.ingest import CorpusDoc
from lore.core.retrieve import SearchRequest
from lore.evaluation.datasets import load_beir
from lore.evaluation.machine import cpu_flags
from lore.interfaces import Embedder
from lore.models import DEFAULT_TENANT
from lore.registry import create_embedder, create_store, create_vector_index
from lore.service import Lore

MODES = ("vector", "keyword", "hybrid")
K = 10
DERIVED_WORDS = 110  # words a derived record starts from; `FITS_TOKENS` cuts the dense ones to one chunk
FITS_TOKENS = 240  # a derived record's embed text, special tokens included, stays under MiniLM's 256
BLOCK = 8192  # derived vectors computed (and scored for the exact top-k) this many at a time
WARMUP = 20
SEED = 20261203
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


# -- the base set: real chunks, real vectors ------------------------------------------------------------------


class RecordingEmbedder:
    """The real embedder, keeping every text it embeds and its vector (to build the base set once)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id, self.dim, self.max_tokens = inner.model_id, inner.dim, inner.max_tokens
        self.unrelated_below = inner.unrelated_below
        self.texts: list[str] = []
        self.vectors: list[np.ndarray] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.inner.embed_documents(texts)
        self.texts.extend(texts)
        self.vectors.extend(vectors)
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def coverage(self, text: str) -> float:
        return self.inner.coverage(text)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def base_set(cache: Path, dataset: Path) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """(chunk embed texts, their vectors, query texts, their vectors), embedded once and cached."""
    files = [cache / name for name in ("base.json", "base.npy", "queries.json", "queries.npy")]
    if not all(f.exists() for f in files):
        build_base_set(cache, dataset)
    texts, queries = (json.loads(files[i].read_text()) for i in (0, 2))
    return texts, np.load(files[1]), queries, np.load(files[3])


def build_base_set(cache: Path, dataset: Path) -> None:
    """Embeds SciFact into the serving benchmarks' `SCIFACT_DATA` when that is new, so that they find it already
    embedded (the slowest step of each, done once); any other data set, or an existing one, in a temporary dir."""
    data = load_beir(dataset)
    shared = dataset.resolve() == SCIFACT.resolve()
    fresh = shared and (not SCIFACT_DATA.exists() or not any(SCIFACT_DATA.iterdir()))
    data_dir = SCIFACT_DATA if fresh else Path(tempfile.mkdtemp(prefix="lore-scale-base-"))
    settings = Settings(data_dir=data_dir, keyword_index="store")
    recorder = RecordingEmbedder(create_embedder(settings))
    print(f"base set: embedding {dataset.name} once (cached in {cache})", flush=True)
    start = time.perf_counter()
    with _open_lore(settings, recorder) as lore:
        lore.add_corpus(data.corpus())
    queries = list(data.queries.values())
    query_vectors = recorder.inner.embed_queries(queries)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "base.json").write_text(json.dumps(recorder.texts))
    np.save(cache / "base.npy", np.asarray(recorder.vectors, dtype=np.float32))
    (cache / "queries.json").write_text(json.dumps(queries))
    np.save(cache / "queries.npy", np.asarray(query_vectors, dtype=np.float32))
    print(f"base set: {len(recorder.texts)} chunks in {time.perf_counter() - start:.0f} s", flush=True)


# -- the derived corpus --------------------------------------------------------------------------------------


class TableEmbedder:
    """Lore's `Embedder` contract answered from precomputed vectors: the benchmark's corpus and queries are
    looked up by text, so ingest and search cost everything but the model. Unknown texts (none are expected)
    are embedded for real and counted."""

    def __init__(self, inner: Embedder, table: dict[str, np.ndarray]) -> None:
        self.inner = inner
        self.model_id, self.dim, self.max_tokens = inner.model_id, inner.dim, inner.max_tokens
        self.unrelated_below = None
        self.table = table
        self.misses = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        rows = [self.table.pop(text, None) for text in texts]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing:
            self.misses += len(missing)
            for i, vector in zip(
                missing, self.inner.embed_documents([texts[i] for i in missing]), strict=True
            ):
                rows[i] = vector
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        vector = self.table.get(text)
        if vector is None:
            self.misses += 1
            return self.inner.embed_query(text)
        return vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray([self.embed_query(t) for t in texts], dtype=np.float32)

    def coverage(self, text: str) -> float:
        return 1.0

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


class Corpus:
    """`size` records (the base chunks, then derived ones) and the exact top-k of each query over them."""

    def __init__(
        self,
        texts: list[str],
        vectors: np.ndarray,
        queries: np.ndarray,
        size: int,
        count_tokens: Callable[[str], int],
    ) -> None:
        self.count_tokens = count_tokens
        self.base = [_split(text) for text in texts]
        self.vectors = vectors
        self.queries = queries
        self.size = size
        self.pairs = _pairs(len(texts), max(size - len(texts), 0))
        self.exact_ids = np.full((len(queries), K), -1, dtype=np.int64)
        self.exact_scores = np.full((len(queries), K), -np.inf, dtype=np.float32)

    def records(self, pending: dict[str, np.ndarray]) -> Iterator[CorpusDoc]:
        """The records in order; each one's vector is put in `pending` (keyed by the text Lore will embed)."""
        count = min(self.size, len(self.base))
        self._score(np.arange(count), self.vectors[:count])
        for i in range(count):
            title, body = self.base[i]
            pending[_embed_text(title, body)] = self.vectors[i]
            yield CorpusDoc(f"d{i}", title, body)
        for start in range(0, len(self.pairs), BLOCK):
            pairs = self.pairs[start : start + BLOCK]
            summed = self.vectors[pairs[:, 0]] + self.vectors[pairs[:, 1]]
            block = summed / np.linalg.norm(summed, axis=1, keepdims=True)
            ids = np.arange(count + start, count + start + len(pairs))
            self._score(ids, block)
            for doc_index, (a, b), vector in zip(ids.tolist(), pairs.tolist(), block, strict=True):
                title, body = self._fitted(*_derive(self.base[a], self.base[b]))
                pending[_embed_text(title, body)] = vector
                yield CorpusDoc(f"d{doc_index}", title, body)

    def _fitted(self, title: str, body: str) -> tuple[str, str]:
        """The record shortened, a tenth of its words at a time, until Lore makes one chunk of it: a dense
        passage (numbers, gene names) can pass 256 tokens in `DERIVED_WORDS` words, and a second chunk would
        be a text the table lacks, embedded for real."""
        words = body.split()
        while len(words) > 1 and self.count_tokens(_embed_text(title, " ".join(words))) > FITS_TOKENS:
            words = words[: len(words) * 9 // 10]
        return title, " ".join(words)

    def _score(self, ids: np.ndarray, block: np.ndarray) -> None:
        """Merge this block into the exact top-k of every query (brute force, float32 dot products)."""
        scores = self.queries @ block.T
        all_scores = np.concatenate([self.exact_scores, scores], axis=1)
        all_ids = np.concatenate([self.exact_ids, np.broadcast_to(ids, scores.shape)], axis=1)
        best = np.argpartition(-all_scores, K - 1, axis=1)[:, :K]
        self.exact_scores = np.take_along_axis(all_scores, best, axis=1)
        self.exact_ids = np.take_along_axis(all_ids, best, axis=1)


def _split(embed_text: str) -> tuple[str, str]:
    """A base chunk as a record: its title and its text's first `DERIVED_WORDS` words (so it stays one
    chunk; it keeps its vector)."""
    title, _, body = embed_text.partition("\n\n")
    return title, " ".join(body.split()[:DERIVED_WORDS])


def _embed_text(title: str, body: str) -> str:
    return f"{title}\n\n{body}"  # what Lore's chunker makes of a one-paragraph record that fits one chunk


def _derive(a: tuple[str, str], b: tuple[str, str]) -> tuple[str, str]:
    first, second = _SENTENCE.split(a[1]), _SENTENCE.split(b[1])
    sentences = first[: max(1, len(first) // 2)] + second[len(second) // 2 :]
    words = " ".join(sentences).split()[:DERIVED_WORDS]
    return a[0], " ".join(words)


def _pairs(base: int, count: int) -> np.ndarray:
    """`count` distinct ordered pairs (a, b) of different base chunks, drawn at random."""
    rng = np.random.default_rng(SEED)
    codes = np.empty(0, dtype=np.int64)
    while len(codes) < count:
        drawn = rng.integers(0, base * base, size=int((count - len(codes)) * 1.05) + 16)
        drawn = drawn[drawn // base != drawn % base]
        codes = np.concatenate([codes, drawn])
        _, first = np.unique(codes, return_index=True)
        codes = codes[np.sort(first)]
    codes = codes[:count]
    return np.stack([codes // base, codes % base], axis=1)


# -- one size ------------------------------------------------------------------------------------------------


def _open_lore(settings: Settings, embedder: Embedder) -> Lore:
    """`Lore.open` with a given embedder."""
    store = create_store(settings)
    store.migrate()
    lore = Lore(settings, store, create_vector_index(settings), embedder)
    lore.sync_index()
    return lore


def memory() -> dict[str, float]:
    status = Path("/proc/self/status").read_text()
    vm_rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return {
        "vm_rss_mib": round(vm_rss / 1024, 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def disk_mib(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def measure_size(args: argparse.Namespace, size: int, backend: str) -> dict[str, Any]:
    texts, vectors, queries, query_vectors = base_set(args.cache, args.dataset)
    warm, timed = queries[:WARMUP], queries[WARMUP : WARMUP + args.queries]  # distinct: no cached results
    table_ = dict(zip(queries, query_vectors, strict=True))
    scratch = Path(tempfile.mkdtemp(prefix=f"lore-scale-{size}-", dir=args.scratch))
    before = memory()
    with embedded_postgres(scratch) if backend == "postgres" else nullcontext([None]) as urls:
        settings = Settings(data_dir=scratch / "data", database_url=urls[0], keyword_index="memory")
        embedder = TableEmbedder(create_embedder(settings), table_)
        timed_queries = query_vectors[WARMUP : WARMUP + args.queries]
        corpus = Corpus(texts, vectors, timed_queries, size, embedder.count_tokens)
        with _open_lore(settings, embedder) as lore:
            ingest = _ingest(lore, corpus, embedder, size)
            after_ingest = memory()
            latencies, recall = _searches(lore, corpus, timed, warm)
            after_search = memory()
        on_disk = {"data_dir_mib": disk_mib(scratch / "data")}
        if backend == "sqlite":
            on_disk["index_mib"] = disk_mib(settings.storage.index_dir)
        else:
            on_disk["postgres_mib"] = disk_mib(scratch / "postgres")
    return {
        "backend": backend,
        "chunks": ingest["chunks"],
        "ingest": ingest,
        "search_ms": latencies,
        "recall_at_10": recall,
        "memory": {"start": before, "after_ingest": after_ingest, "after_search": after_search},
        "disk": on_disk,
        "embedder_misses": embedder.misses,
    }


def _ingest(lore: Lore, corpus: Corpus, embedder: TableEmbedder, size: int) -> dict[str, Any]:
    cpu, wall = time.process_time(), time.perf_counter()
    last = [wall]

    def progress(done: int) -> None:
        if time.perf_counter() - last[0] > 30:
            last[0] = time.perf_counter()
            rate = done / (last[0] - wall)
            print(f"  ingest {done:,}/{size:,}  {rate:,.0f} records/s  {memory()}", flush=True)

    generating = Stopwatch()
    report = lore.add_corpus(generating.timed(corpus.records(embedder.table)), on_progress=progress)
    seconds = time.perf_counter() - wall - generating.seconds
    cpu_seconds = time.process_time() - cpu - generating.cpu_seconds
    chunks = report.chunks
    return {
        "records": size,
        "chunks": chunks,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "generating_seconds": round(generating.seconds, 1),  # the corpus's own making, left out of both
        "chunks_per_second": round(chunks / seconds, 1),
        "chunks_per_cpu_second": round(chunks / cpu_seconds, 1),
    }


class Stopwatch:
    """The wall and CPU time spent inside an iterator's `next`: what making the corpus costs, so that the
    ingest figures leave it out."""

    def __init__(self) -> None:
        self.seconds = self.cpu_seconds = 0.0

    def timed(self, items: Iterator[CorpusDoc]) -> Iterator[CorpusDoc]:
        while True:
            wall, cpu = time.perf_counter(), time.process_time()
            item = next(items, None)
            self.seconds += time.perf_counter() - wall
            self.cpu_seconds += time.process_time() - cpu
            if item is None:
                return
            yield item


def _searches(
    lore: Lore, corpus: Corpus, queries: list[str], warm: list[str]
) -> tuple[dict[str, dict[str, float]], float]:
    latencies: dict[str, dict[str, float]] = {}
    found: list[list[int]] = []
    for mode in MODES:
        for query in warm:
            lore.search(SearchRequest(DEFAULT_TENANT, query, k=K, mode=mode))  # type: ignore[arg-type]
        seconds, cpu_seconds = [], []
        for query in queries:
            start, cpu = time.perf_counter(), time.process_time()
            hits = lore.search(SearchRequest(DEFAULT_TENANT, query, k=K, mode=mode))  # type: ignore[arg-type]
            seconds.append(time.perf_counter() - start)
            cpu_seconds.append(time.process_time() - cpu)
            if mode == "vector":
                found.append([int(hit.chunk.source.removeprefix("record:d")) for hit in hits])
        latencies[mode] = percentiles_ms(seconds)
        latencies[f"{mode} cpu"] = percentiles_ms(cpu_seconds)  # what a busy machine's wall clock hides
    hits = sum(
        len(set(row) & set(exact.tolist())) for row, exact in zip(found, corpus.exact_ids, strict=True)
    )
    return latencies, round(hits / (K * len(queries)), 4)


# -- the run -------------------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def run_child(args: argparse.Namespace, size: int, backend: str) -> dict[str, Any]:
    """One size in a fresh process, so its memory figures are its own."""
    out = Path(tempfile.mkstemp(suffix=".json", prefix="lore-scale-")[1])
    command = [sys.executable, __file__, "--one", str(size), "--backend", backend, "--out", str(out)]
    command += _common(args)
    subprocess.run(command, check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return result


_COLUMNS = [*MODES, *(f"{m} cpu" for m in MODES)]


def _common(args: argparse.Namespace) -> list[str]:
    common = ["--queries", str(args.queries), "--cache", str(args.cache), "--dataset", str(args.dataset)]
    return common + (["--scratch", str(args.scratch)] if args.scratch else [])


def report(runs: list[dict[str, Any]]) -> str:
    reference = runs[0]
    rows = []
    for run in runs:
        lat, ref = run["search_ms"], reference["search_ms"]
        mem = run["memory"]["after_search"]
        rows.append(
            (
                f"{run['backend']} {run['chunks']:,}",
                run["ingest"]["chunks_per_second"],
                *(lat[m][p] for m in _COLUMNS for p in ("p50", "p99")),
                *(ratio(lat[m]["p99"], ref[m]["p99"]) for m in MODES),
                run["recall_at_10"],
                round(mem["max_rss_mib"] / 1024, 2),
                round(sum(run["disk"].values()) / 1024, 2),
            )
        )
    header = ("backend chunks", "ingest/s", *(f"{m} p{p}" for m in _COLUMNS for p in ("50", "99")))
    header += (*(f"{m[:3]} p99 x" for m in MODES), "recall@10", "max RSS GiB", "disk GiB")
    return table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", default="10k,100k", help="chunk counts, e.g. 10k,100k,1m (the first is the reference)"
    )
    parser.add_argument("--postgres", default="", help="sizes to repeat on PostgreSQL + pgvector, e.g. 100k")
    parser.add_argument("--queries", type=int, default=300, help="SciFact queries timed per mode")
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="BEIR-layout base data set")
    parser.add_argument(
        "--cache", type=Path, default=RESULTS / "scale-base", help="where the base vectors are kept"
    )
    parser.add_argument(
        "--scratch", type=Path, default=None, help="where the data dirs go (default: the temp dir)"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="sqlite", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build-base", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_base:
        build_base_set(args.cache, args.dataset)
        return
    if args.one is not None:
        result = measure_size(args, args.one, args.backend)
        args.out.write_text(json.dumps(result))
        return
    print(f"scale: cpu flags {' '.join(cpu_flags()) or '-'}; load {os.getloadavg()[0]:.2f}", flush=True)
    if not (args.cache / "queries.npy").exists():  # its own process: ru_maxrss survives exec into the sizes
        subprocess.run([sys.executable, __file__, "--build-base", *_common(args)], check=True)
    jobs = [(parse_size(s), "sqlite") for s in args.sizes.split(",") if s]
    jobs += [(parse_size(s), "postgres") for s in args.postgres.split(",") if s]
    runs = []
    for size, backend in jobs:
        print(f"== {backend} {size:,} records", flush=True)
        runs.append(run_child(args, size, backend))
        print(json.dumps(runs[-1]), flush=True)
    print(report(runs))
    path = write_result("scale", {"queries": args.queries, "runs": runs})
    print(f"results: {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
