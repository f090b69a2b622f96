"""Chunk and document signals measured by the fusion protocol: a set's candidate pools with one signal changed.

    python -m lore.evaluation.signals ../shared/data/cranfield ../shared/data/scifact ../shared/data/stackfaq \
        ../shared/data/xquad/{ar,de,el,en,es,hi,ro,ru,th,tr,vi,zh} --cache eval-cache

Each variant is computed from the corpus `pools.load` ingested (under `--cache`/data), through the same
`Retriever.pools` hybrid search fuses, with one part swapped:

- `keyword-bare`: the keyword index reads each chunk's text alone, without the document title and heading
  path `bm25.chunk_terms` reads with it;
- `vector-exact`: every vector searched exactly (the reference for the next, since the shipped index searches
  partitions of 2,500 vectors or more through its HNSW graph);
- `vector-neighbours`: each chunk's vector blended with its document neighbours' (the chunks before and after
  it), `v + NEIGHBOUR_WEIGHT * mean(neighbours)`, renormalised, and searched exactly.

Each variant's pools are cached next to the shipped ones, and every variant is scored like `lore eval fusion`:
keyword, vector, equal-weight RRF and the default rule fitted leave-one-dataset-out.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

import numpy as np

from lore.config import Settings
from lore.core.bm25 import KeywordIndex
from lore.core.retrieve import Retriever
from lore.evaluation import lodo, pools, weighting
from lore.evaluation.datasets import load_beir
from lore.interfaces import ChunkSource, VectorIndex
from lore.models import Chunk, IdVectors, ScoredChunk

VARIANTS = ("keyword-bare", "vector-exact", "vector-neighbours")
NEIGHBOUR_WEIGHT = 0.5


@dataclass
class _Recording:
    """A chunk source that keeps every chunk it hands out, optionally without title and heading path."""

    source: ChunkSource
    bare: bool = False
    seen: dict[int, Chunk] = field(default_factory=dict)

    def get_chunks(self, tenant_id: str, chunk_ids: Sequence[int]) -> dict[int, Chunk]:
        found = self.source.get_chunks(tenant_id, chunk_ids)
        self.seen.update(found)
        if not self.bare:
            return found
        return {cid: replace(chunk, title="", heading_path=[]) for cid, chunk in found.items()}


class ExactIndex:
    """Exact cosine search over fixed vectors (one matrix for every partition): what a variant's vectors are
    searched with. Only the reads a search makes."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        self._ids = ids.astype(np.int64)
        self._vectors = (vectors / norms).astype(np.float32)
        self._row = {int(cid): row for row, cid in enumerate(self._ids.tolist())}

    def search(
        self, partitions: Sequence[str], query: np.ndarray, k: int, allowed: Collection[int] | None = None
    ) -> list[ScoredChunk]:
        scores = self._vectors @ (query / max(float(np.linalg.norm(query)), 1e-12)).astype(np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        return [ScoredChunk(int(self._ids[i]), float(scores[i])) for i in order]

    def vectors(self, partitions: Sequence[str], ids: Sequence[int]) -> IdVectors:
        rows = [self._row[cid] for cid in ids if cid in self._row]
        return IdVectors(self._ids[rows], self._vectors[rows])

    def count(self, partition: str) -> int:
        return len(self._ids)


def blended(chunks: dict[int, Chunk], ids: np.ndarray, vectors: np.ndarray, weight: float) -> np.ndarray:
    """Each vector plus `weight` times the mean of its document neighbours' (the chunks just before and after)."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    row = {int(cid): i for i, cid in enumerate(ids.tolist())}
    documents: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for cid, chunk in chunks.items():
        if cid in row:
            documents[chunk.document_id].append((chunk.position, row[cid]))
    out = unit.copy()
    for members in documents.values():
        rows = [r for _, r in sorted(members)]
        for i, r in enumerate(rows):
            near = rows[max(i - 1, 0) : i] + rows[i + 1 : i + 2]
            if near:
                out[r] = unit[r] + weight * unit[near].mean(axis=0)
    return out


def multi_chunk_documents(chunks: dict[int, Chunk]) -> int:
    counts: dict[str, int] = defaultdict(int)
    for chunk in chunks.values():
        counts[chunk.document_id] += 1
    return sum(1 for n in counts.values() if n > 1)


def variant_path(cache: Path, directory: Path, depth: int, model: str, variant: str) -> Path:
    base = pools.cache_path(cache, load_beir(directory), model, depth)
    return base.with_name(f"{base.stem}-{variant}.pkl")


def load(directory: Path, cache: Path, depth: int) -> dict[str, list[pools.QueryPool]]:
    """{variant: the set's pools}, the shipped ones under "shipped"; computed once and cached."""
    from lore.service import Lore

    shipped = pools.load(directory, cache, depth)
    dataset = load_beir(directory)
    settings = Settings(data_dir=cache / "data" / dataset.name.replace("/", "-"))
    model = settings.embedding.embedder
    paths = {v: variant_path(cache, directory, depth, model, v) for v in VARIANTS}
    if all(path.exists() for path in paths.values()):
        return {"shipped": shipped} | {v: pickle.loads(p.read_bytes()) for v, p in paths.items()}
    groups = pools.query_groups(directory)
    with Lore.open(settings) as lore:
        recording = _Recording(lore.store.documents, bare=True)
        bare = KeywordIndex()
        bare.load(lore.store.changes, recording)
        chunks = recording.seen
        partitions = {change.partition for change in lore.store.changes.changes_since(0, 10**9)}
        found = lore.index.vectors(sorted(partitions), sorted(chunks))
        exact = ExactIndex(found.ids, found.vectors)
        near = ExactIndex(found.ids, blended(chunks, found.ids, found.vectors, NEIGHBOUR_WEIGHT))
        retrievers: dict[str, Retriever] = {
            "keyword-bare": replace(lore.retriever, keyword_index=bare),
            "vector-exact": replace(lore.retriever, index=cast(VectorIndex, exact)),
            "vector-neighbours": replace(lore.retriever, index=cast(VectorIndex, near)),
        }
        out: dict[str, list[pools.QueryPool]] = {"shipped": shipped}
        for variant, retriever in retrievers.items():
            out[variant] = [
                pools.pool_of(retriever, dataset, qid, text, depth, groups.get(qid))
                for qid, text in dataset.queries.items()
            ]
            pools.write(paths[variant], pickle.dumps(out[variant]))
        print(
            f"{dataset.name}: {len(chunks)} chunks, {multi_chunk_documents(chunks)} documents of several",
            file=sys.stderr,
        )
    return out


def score(variants: dict[str, list[pools.QueryPool]]) -> dict[str, object]:
    """Each variant's `lore eval fusion` table: keyword, vector, RRF and the default rule fitted LODO."""
    rules = [*lodo.BASELINES, weighting.fitted()]
    return {variant: lodo.run(found, rules) for variant, found in variants.items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset_dirs", nargs="+", type=Path)
    parser.add_argument("--cache", type=Path, default=Path("eval-cache"))
    parser.add_argument("--depth", type=int, default=200)
    args = parser.parse_args(argv)
    merged: dict[str, list[pools.QueryPool]] = defaultdict(list)
    for directory in args.dataset_dirs:
        for variant, found in load(directory, args.cache, args.depth).items():
            merged[variant].extend(found)
    print(json.dumps(score(merged), indent=1))


if __name__ == "__main__":
    main()
