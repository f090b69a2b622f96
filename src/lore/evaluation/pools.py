"""Candidate pools of a BEIR-layout set, computed once and kept on disk: for every judged query, what hybrid
search fuses (`Retriever.pools`: the union of both retrievers' top `depth` chunks, each with both scores, and the
model's coverage of the query), with the corpus record each candidate comes from.

Embedding a corpus and its queries is the slow part of evaluating fusion; every rule is then scored from these
arrays in milliseconds, so rules are compared on exactly the same candidates.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lore.config import Settings
from lore.core.retrieve import Retriever, SearchRequest
from lore.evaluation.datasets import BeirSet, load_beir
from lore.models import DEFAULT_TENANT

FORMAT = 2  # bumped whenever what a cached pool holds changes


@dataclass(frozen=True, slots=True)
class QueryPool:
    """One judged query's candidates: `vector` cosines, `keyword` BM25s, the corpus record (`docs`) and chunk
    of each, the model's `coverage` of the query, and the query's graded documents."""

    id: str
    text: str
    dataset: str
    group: str | None  # the query's `metadata.group`, where the set has one
    vector: np.ndarray
    keyword: np.ndarray
    docs: tuple[str, ...]
    chunks: tuple[int, ...]
    coverage: float
    grades: dict[str, int] = field(default_factory=dict)
    floor: float | None = None  # the embedding model's calibrated `unrelated_below`


def query_groups(directory: Path) -> dict[str, str]:
    """Query id -> `metadata.group` (as text) of the queries that have one."""
    groups: dict[str, str] = {}
    with (directory / "queries.jsonl").open(encoding="utf-8") as lines:
        for line in (line for line in lines if line.strip()):
            row = json.loads(line)
            group = (row.get("metadata") or {}).get("group")
            if group is not None:
                groups[str(row["_id"])] = str(group)
    return groups


def cache_path(cache: Path, dataset: BeirSet, model: str, depth: int) -> Path:
    slug = f"{dataset.name.replace('/', '-')}-{model.replace('/', '-').replace('@', '-')}-d{depth}-v{FORMAT}"
    return cache / "pools" / f"{slug}.pkl"


def load(
    directory: Path,
    cache: Path,
    depth: int,
    settings: Settings | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> list[QueryPool]:
    """The set's pools from `cache`, computed (corpus ingested into `cache`/data/<set>) when not there yet."""
    from lore.service import Lore

    dataset = load_beir(directory)
    slug = dataset.name.replace("/", "-")
    settings = settings or Settings(data_dir=cache / "data" / slug)
    path = cache_path(cache, dataset, settings.embedding.embedder, depth)
    if path.exists():
        pools: list[QueryPool] = pickle.loads(path.read_bytes())
        return pools
    groups = query_groups(directory)
    with Lore.open(settings) as lore:
        done = settings.storage.data_dir / "corpus-ingested"
        if not done.exists():
            total = sum(1 for _ in dataset.corpus())
            lore.add_corpus(
                dataset.corpus(),
                on_progress=(lambda n: on_progress(f"{dataset.name}: ingesting", n, total))
                if on_progress
                else None,
            )
            done.write_text("ok\n", encoding="utf-8")
        pools = []
        for number, (query_id, text) in enumerate(dataset.queries.items(), start=1):
            pools.append(pool_of(lore.retriever, dataset, query_id, text, depth, groups.get(query_id)))
            if on_progress:
                on_progress(f"{dataset.name}: candidates", number, len(dataset.queries))
    write(path, pickle.dumps(pools))
    return pools


def pool_of(
    retriever: Retriever, dataset: BeirSet, query_id: str, text: str, depth: int, group: str | None
) -> QueryPool:
    """One judged query's pool, as `retriever` (the service's, or one with a signal changed) fuses it."""
    found = retriever.pools(SearchRequest(DEFAULT_TENANT, text), depth) if text.strip() else []
    candidates = [c for pool in found for c in pool.candidates]
    coverage = found[0].coverage if found else 1.0
    floor = found[0].floor if found else None
    chunks = retriever.documents.get_chunks(DEFAULT_TENANT, [c.chunk_id for c in candidates])
    docs = tuple(
        str(chunks[c.chunk_id].metadata.get("record_id", chunks[c.chunk_id].document_id)) for c in candidates
    )
    return QueryPool(
        query_id,
        text,
        dataset.name,
        group,
        np.array([c.vector for c in candidates], dtype=np.float64),
        np.array([c.keyword for c in candidates], dtype=np.float64),
        docs,
        tuple(c.chunk_id for c in candidates),
        coverage,
        dataset.qrels[query_id],
        floor,
    )


def write(path: Path, data: bytes) -> None:
    """Atomically: a cache file is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    Path(scratch).replace(path)
