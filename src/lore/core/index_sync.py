"""Keep the derived vector index current by replaying the store's change sequence.

Chunk ids are never reused; a chunk may sit in two partitions of its collection while a re-embedding builds the
new model's partition, and leave and re-enter a partition when its collection returns to an earlier model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np

from lore.backends.store.database import Database
from lore.interfaces import VectorIndex
from lore.models import Change, partition_key, split_partition


def catch_up(
    store: Database,
    index: VectorIndex,
    batch_size: int = 10_000,
    *,
    upto: int | None = None,
    on_batch: Callable[[list[Change]], None] | None = None,
) -> int:
    """Apply every change newer than the index's `applied_seq` (up to change `upto`, if given); returns how
    many were applied. `on_batch` sees each batch once the index holds it."""
    applied = 0
    while changes := store.changes.changes_since(index.applied_seq, batch_size):
        if upto is not None:
            changes = [change for change in changes if change.seq <= upto]
            if not changes:
                break
        _apply(store, index, changes)
        index.mark_applied(changes[-1].seq)
        applied += len(changes)
        if on_batch is not None:
            on_batch(changes)
    return applied


def _apply(store: Database, index: VectorIndex, changes: list[Change]) -> None:
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
        found = store.vectors.chunk_vectors(split_partition(partition)[2], ids)
        if len(found.ids):
            index.add(partition, np.asarray(found.ids, dtype=np.int64), found.vectors)


def rebuild(store: Database, index: VectorIndex) -> int:
    """Drop the index and load every partition from the store; returns the number of vectors."""
    seq = store.changes.last_seq()
    index.clear()
    total = 0
    for partition in store.vectors.partitions():
        for ids, vectors in store.vectors.iter_partition_vectors(partition):
            index.add(partition, ids, vectors)
            total += len(ids)
    for models in store.reembedding.collection_models():  # partitions that re-embeddings are building
        if models.pending is not None:
            partition = partition_key(models.tenant_id, models.collection, models.pending)
            for ids, vectors in store.vectors.iter_model_vectors(
                models.tenant_id, models.collection, models.pending
            ):
                index.add(partition, ids, vectors)
                total += len(ids)
    index.mark_applied(seq)
    catch_up(store, index)
    index.save()
    return total


class KeywordView:
    """The change sequence as the in-memory keyword index must read it. That index holds chunks, not
    partitions, so two kinds of change are turned into no-ops (kept, so it still advances past them): a
    re-embedding adding chunks to the pending model's partition, and a switch removing chunks that still exist
    from the old model's partition. A no-op is a removal of chunk 0, which never exists (ids start at 1)."""

    def __init__(self, store: Database, models: Callable[[str, str], tuple[str, str | None]]) -> None:
        self.store = store
        self.models = models

    def last_seq(self) -> int:
        return self.store.changes.last_seq()

    def changes_since(self, seq: int, limit: int = 10_000) -> list[Change]:
        changes = self.store.changes.changes_since(seq, limit)
        removed: dict[str, list[int]] = defaultdict(list)
        for change in changes:
            if change.op == "remove":
                removed[split_partition(change.partition)[0]].append(change.chunk_id)
        alive = {
            cid for tenant, ids in removed.items() for cid in self.store.documents.get_chunks(tenant, ids)
        }
        return [_noop(change) if self._skipped(change, alive) else change for change in changes]

    def _skipped(self, change: Change, alive: set[int]) -> bool:
        if change.op == "remove":
            return change.chunk_id in alive
        tenant, collection, model = split_partition(change.partition)
        return model == self.models(tenant, collection)[1]


def _noop(change: Change) -> Change:
    return Change(change.seq, "remove", 0, change.partition)
