"""Keep the derived vector index current by replaying the store's change sequence.

Chunk ids are never reused; a chunk may sit in two partitions of its collection while a re-embedding builds the
new model's partition, and leave and re-enter a partition when its collection returns to an earlier model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from lore.interfaces import ChangeFeed, ChunkSource, VectorIndex, VectorSource
from lore.models import Change, CollectionModels, ServingModels, partition_key, split_partition


def catch_up(
    feed: ChangeFeed,
    vectors: VectorSource,
    index: VectorIndex,
    batch_size: int = 10_000,
    *,
    upto: int | None = None,
    on_batch: Callable[[list[Change]], None] | None = None,
) -> int:
    """Apply every change newer than the index's `applied_seq` (up to change `upto`, if given); returns how
    many were applied. `on_batch` sees each batch once the index holds it."""
    applied = 0
    while changes := feed.changes_since(index.applied_seq, batch_size):
        if upto is not None:
            changes = [change for change in changes if change.seq <= upto]
            if not changes:
                break
        _apply(vectors, index, changes)
        index.mark_applied(changes[-1].seq)
        applied += len(changes)
        if on_batch is not None:
            on_batch(changes)
    return applied


def _apply(vectors: VectorSource, index: VectorIndex, changes: list[Change]) -> None:
    """The last change of each (partition, chunk) wins: a chunk can leave a partition and come back (a
    collection re-embedded with a model it used before)."""
    last: dict[tuple[str, int], str] = {}
    for change in changes:
        last[(change.partition, change.chunk_id)] = change.op
    added: dict[str, list[int]] = defaultdict(list)
    removed: dict[str, list[int]] = defaultdict(list)
    for (partition, chunk_id), op in last.items():
        (added if op == "add" else removed)[partition].append(chunk_id)
    for partition, ids in removed.items():
        index.remove(partition, sorted(ids))
    for partition, ids in added.items():
        found = vectors.chunk_vectors(split_partition(partition)[2], ids)
        if len(found.ids):
            index.add(partition, np.asarray(found.ids, dtype=np.int64), found.vectors)


def rebuild(
    feed: ChangeFeed, vectors: VectorSource, models: Iterable[CollectionModels], index: VectorIndex
) -> int:
    """Drop the index and load every partition from the store, and the partitions that re-embeddings are
    building (collections whose `models` have a pending one); returns the number of vectors."""
    seq = feed.last_seq()
    index.clear()
    total = 0
    for partition in vectors.partitions():
        for batch in vectors.iter_partition_vectors(partition):
            index.add(partition, batch.ids, batch.vectors)
            total += len(batch.ids)
    for collection in models:
        if collection.pending is not None:
            partition = partition_key(collection.tenant_id, collection.collection, collection.pending)
            pending = vectors.iter_model_vectors(
                collection.tenant_id, collection.collection, collection.pending
            )
            for batch in pending:
                index.add(partition, batch.ids, batch.vectors)
                total += len(batch.ids)
    index.mark_applied(seq)
    catch_up(feed, vectors, index)
    index.save()
    return total


class KeywordChanges:
    """Which changes of a batch the in-memory keyword index applies. That index holds chunks, not partitions, so
    it passes over two kinds: a re-embedding adding chunks to the pending model's partition, and a switch
    removing chunks that still exist from the old model's partition."""

    def __init__(self, chunks: ChunkSource, serving: Callable[[str, str], ServingModels]) -> None:
        self.chunks = chunks
        self.serving = serving

    def __call__(self, changes: Sequence[Change]) -> list[Change]:
        removed: dict[str, list[int]] = defaultdict(list)
        for change in changes:
            if change.op == "remove":
                removed[split_partition(change.partition)[0]].append(change.chunk_id)
        alive = {cid for tenant, ids in removed.items() for cid in self.chunks.get_chunks(tenant, ids)}
        return [change for change in changes if not self._passed_over(change, alive)]

    def _passed_over(self, change: Change, alive: set[int]) -> bool:
        if change.op == "remove":
            return change.chunk_id in alive
        tenant, collection, model = split_partition(change.partition)
        return model == self.serving(tenant, collection).pending
