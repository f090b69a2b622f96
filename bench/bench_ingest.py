"""Ingestion throughput: Lore side by side with Chroma's embedded client, same chunks, same ONNX model.

    python bench/bench_ingest.py [--docs 500] [--repeat 1] [--batch 256] [--variants int8,fp32] [--dataset DIR]

Lore ingests the first `--docs` SciFact records end to end (chunk, embed, write, index) into a fresh data dir,
once with each MiniLM variant (int8, the default, and fp32). Chroma (`PersistentClient`) then adds exactly the
texts Lore embedded, in batches of `--batch`, through an embedding function that wraps Lore's own
`MiniLMEmbedder`: once with fp32 (what Chroma would do with this model) and once with int8 (what our runtime
choice gives). Models are loaded and warmed before any clock starts. Chroma gets its texts already chunked, so
Lore's time includes work Chroma's does not. With `--repeat 2` the second round runs in reverse order and the
best time of each configuration is kept. "cores busy" is the process's CPU time (every thread) over the wall
time: near 2 when a bulk load keeps both cores of a 2-core machine busy; "runnable" is the mean number of the
process's threads running or ready to run, sampled every 10 ms: the parallelism a run asks for, which a loaded
machine may not grant. Last, Lore re-ingests the unchanged corpus (nothing is embedded).
Data are read from the shared folder and never copied into the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from benchkit import SCIFACT, context, ratio, table, write_result
from lore.config import Settings
from lore.core import ingest
from lore.core.ingest import CorpusDoc
from lore.evaluation.datasets import load_beir
from lore.interfaces import Embedder
from lore.models import DEFAULT_COLLECTION, DEFAULT_TENANT
from lore.registry import create_embedder
from lore.service import Lore

Variant = Literal["int8", "fp32"]
VARIANTS: tuple[Variant, ...] = ("int8", "fp32")
# Chunks of SciFact abstracts are long (~200 tokens): 500 docs (~850 chunks) embedded four times take ~5 min
# on an idle 2-core machine, ~12 min on a busy one. 2000 docs take four times that.
DEFAULT_DOCS = 500
Chunk = tuple[str, str]  # id, the text the embedder sees


@dataclass(slots=True)
class Sample:
    system: str
    variant: str
    chunks: int
    embedded: int
    seconds: float
    cpu_seconds: float = 0.0  # this process's CPU time (every thread) over `seconds`
    runnable: float = 0.0  # mean threads running or ready to run (`Runnable`)

    @property
    def cores(self) -> float:
        """Cores kept busy on average: 2 would be both of a 2-core machine all along."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def label(self) -> str:
        return f"{self.system} ({self.variant})"

    @property
    def rate(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0


class Runnable:
    """Samples this process's threads every `every` seconds: the mean number running or waiting for a core
    (state R, the sampler excluded). Unlike CPU time over wall time, it shows the parallelism a run asks for
    even when a loaded machine cannot grant it."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-runnable", daemon=True)

    def __enter__(self) -> Runnable:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = threading.get_native_id()
        while not self._stop.wait(self.every):
            running = 0
            for task in Path("/proc/self/task").iterdir():
                if int(task.name) == me:
                    continue
                with contextlib.suppress(OSError):
                    running += (task / "stat").read_text().rsplit(")", 1)[1].split()[0] == "R"
            self.samples.append(running)

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else 0.0


def load_docs(dataset_dir: Path, limit: int) -> list[CorpusDoc]:
    return list(itertools.islice(load_beir(dataset_dir).corpus(), limit))


def settings(data_dir: Path, variant: Variant) -> Settings:
    return Settings(data_dir=data_dir, embedding_variant=variant)


def warm(embedder: Embedder) -> None:
    """Load the model (deriving the int8 graph on first use) and run it once, before any clock starts."""
    embedder.embed_documents(["warm up the runtime", "and its memory arena " * 20])


# -- Lore ------------------------------------------------------------------------------------------------


def lore_ingest(docs: list[CorpusDoc], variant: Variant, data_dir: Path) -> Sample:
    with Lore.open(settings(data_dir, variant)) as lore:
        warm(lore.embedder)
        cpu = time.process_time()
        with Runnable() as runnable:
            report = lore.add_corpus(docs)
        cpu = time.process_time() - cpu
    return Sample("lore", variant, report.chunks, report.embedded, report.seconds, cpu, runnable.mean)


def lore_reingest(docs: list[CorpusDoc], variant: Variant, data_dir: Path) -> dict[str, float | int]:
    """A second `add_corpus` of the same records in a freshly opened Lore, as a CLI re-run would be."""
    start = time.perf_counter()
    with Lore.open(settings(data_dir, variant)) as lore:
        opened = time.perf_counter() - start
        report = lore.add_corpus(docs)
    return {
        "open_seconds": round(opened, 3),
        "seconds": round(report.seconds, 3),
        "unchanged": report.unchanged,
        "embedded": report.embedded,
    }


def chunk_texts(docs: list[CorpusDoc], data_dir: Path) -> tuple[list[Chunk], float]:
    """The exact texts Lore embeds for these records (its own preparation), and how long chunking took."""
    with Lore.open(settings(data_dir, "int8")) as lore:
        salt = ingest.salt_for(lore.embedder.model_id, ())
        start = time.perf_counter()
        chunks: list[Chunk] = []
        for doc in docs:
            prepared = lore.ingestion.prepare_record(
                doc, salt, DEFAULT_TENANT, DEFAULT_COLLECTION, {}, ingest.IngestReport()
            )
            assert prepared is not None
            chunks.extend((f"{doc.id}:{c.position}", c.embed_text) for c in prepared.chunks)
        return chunks, time.perf_counter() - start


# -- Chroma ----------------------------------------------------------------------------------------------


def chroma_function(embedder: Embedder) -> Any:
    """A Chroma EmbeddingFunction running Lore's MiniLM (same ONNX graph, same runtime, same threads)."""
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

    class LoreMiniLM(EmbeddingFunction[Documents]):
        def __init__(self) -> None:
            self.embedder = embedder

        def __call__(self, input: Documents) -> Embeddings:
            return list(self.embedder.embed_documents(list(input)))

        @staticmethod
        def name() -> str:
            return "lore-minilm"

        def get_config(self) -> dict[str, Any]:
            return {"model_id": embedder.model_id}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> LoreMiniLM:
            raise NotImplementedError("benchmark only")

    return LoreMiniLM()


def chroma_ingest(chunks: list[Chunk], variant: Variant, path: Path, batch: int) -> Sample:
    import chromadb

    embedder = create_embedder(settings(path, variant))
    warm(embedder)
    client = chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))
    collection = client.create_collection(
        "bench", embedding_function=chroma_function(embedder), configuration={"hnsw": {"space": "cosine"}}
    )
    start, cpu = time.perf_counter(), time.process_time()
    with Runnable() as runnable:
        for offset in range(0, len(chunks), batch):
            part = chunks[offset : offset + batch]
            collection.add(ids=[i for i, _ in part], documents=[t for _, t in part])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert collection.count() == len(chunks)
    return Sample("chroma", variant, len(chunks), len(chunks), seconds, cpu, runnable.mean)


def chroma_version() -> str:
    import chromadb

    return str(chromadb.__version__)


# -- the run ---------------------------------------------------------------------------------------------


def plan(
    docs: list[CorpusDoc], chunks: list[Chunk], batch: int, variants: tuple[Variant, ...] = VARIANTS
) -> list[tuple[str, Callable[[Path], Sample]]]:
    """One round: each system with each variant, the two systems interleaved."""
    steps: list[tuple[str, Callable[[Path], Sample]]] = []
    for variant in variants:
        steps.append((f"lore-{variant}", lambda d, v=variant: lore_ingest(docs, v, d)))
        steps.append((f"chroma-{variant}", lambda d, v=variant: chroma_ingest(chunks, v, d, batch)))
    return steps


def run_rounds(
    docs: list[CorpusDoc],
    chunks: list[Chunk],
    batch: int,
    repeat: int,
    scratch: Path,
    variants: tuple[Variant, ...] = VARIANTS,
) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {}
    steps = plan(docs, chunks, batch, variants)
    for round_ in range(repeat):
        for name, step in steps if round_ % 2 == 0 else reversed(steps):
            gc.collect()
            sample = step(scratch / f"{name}-{round_}")
            print(
                f"  {sample.label:<16} {sample.chunks:>6} chunks  {sample.seconds:8.2f} s  "
                f"{sample.rate:8.1f} chunks/s  cores busy {sample.cores:.2f}  runnable {sample.runnable:.2f}  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            samples.setdefault(name, []).append(sample)
    return samples


def report(best: dict[str, Sample], reingest: dict[str, float | int], docs: int, chunk_seconds: float) -> str:
    chroma_fp32 = best["chroma-fp32"].rate
    rows = [
        (
            s.label,
            docs,
            s.chunks,
            s.embedded,
            round(s.seconds, 2),
            round(s.rate, 1),
            ratio(s.rate, chroma_fp32),
            ratio(s.rate, best[f"chroma-{s.variant}"].rate),
            round(s.cores, 2),
            round(s.runnable, 2),
        )
        for s in best.values()
    ]
    header = (
        "system",
        "docs",
        "chunks",
        "embedded",
        "s",
        "chunks/s",
        "vs chroma fp32",
        "vs chroma same",
        "cores busy",
        "runnable",
    )
    notes = [
        f"Lore chunking alone (inside Lore's time, not Chroma's): {chunk_seconds:.2f} s",
        f"Lore re-ingest of the unchanged corpus: {reingest['seconds']} s "
        f"(open {reingest['open_seconds']} s, {reingest['unchanged']} unchanged, "
        f"{reingest['embedded']} embedded)",
    ]
    return table(header, rows) + "\n" + "\n".join(notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=DEFAULT_DOCS, help="SciFact records to ingest")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (alternating order); best time kept")
    parser.add_argument("--batch", type=int, default=256, help="chunks per Chroma add()")
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="BEIR-layout data set")
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated MiniLM variants (fp32 is the target's)",
    )
    args = parser.parse_args()
    variants = tuple(v for v in VARIANTS if v in args.variants.split(","))
    docs = load_docs(args.dataset, args.docs)
    flags = context()["cpu_flags"]
    print(f"ingestion: {len(docs)} docs from {args.dataset.name}, chromadb {chroma_version()}, cpu {flags}")
    with tempfile.TemporaryDirectory(prefix="lore-bench-ingest-") as tmp:
        scratch = Path(tmp)
        chunks, chunk_seconds = chunk_texts(docs, scratch / "chunking")
        samples = run_rounds(docs, chunks, args.batch, args.repeat, scratch, variants)
        reingest = lore_reingest(docs, variants[0], scratch / f"lore-{variants[0]}-0")
    best = {name: min(runs, key=lambda s: s.seconds) for name, runs in sorted(samples.items(), reverse=True)}
    print(report(best, reingest, len(docs), chunk_seconds))
    path = write_result(
        "ingest",
        {
            "docs": len(docs),
            "chunks": len(chunks),
            "batch": args.batch,
            "repeat": args.repeat,
            "chromadb": chroma_version(),
            "chunking_seconds": round(chunk_seconds, 3),
            "reingest": reingest,
            "samples": {
                name: [asdict(s) | {"chunks_per_second": round(s.rate, 2)} for s in runs]
                for name, runs in samples.items()
            },
        },
    )
    print(f"results: {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
