"""Keep the derived vector index current by replaying the store's change sequence.

Chunk ids are never reused, so within any batch of changes an id is added at most once and removed at most once:
the net effect of a batch is "add what was added and not removed, remove what was removed".
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from lore.interfaces import Store, VectorIndex
from lore.models import Change, split_partition


def catch_up(store: Store, index: VectorIndex, batch_size: int = 10_000) -> int:
    """Apply every change newer than the index's `applied_seq`; returns how many were applied."""
    applied = 0
    while changes := store.changes_since(index.applied_seq, batch_size):
        _apply(store, index, changes)
        index.mark_applied(changes[-1].seq)
        applied += len(changes)
    return applied


def _apply(store: Store, index: VectorIndex, changes: list[Change]) -> None:
    added: dict[str, list[int]] = defaultdict(list)
    removed: dict[str, set[int]] = defaultdict(set)
    for change in changes:
        if change.op == "add":
            added[change.partition].append(change.chunk_id)
        else:
            removed[change.partition].add(change.chunk_id)
    for partition, ids in removed.items():
        index.remove(partition, sorted(ids))
    for partition, ids in added.items():
        live = [i for i in ids if i not in removed.get(partition, ())]
        if not live:
            continue
        found_ids, vectors = store.chunk_vectors(split_partition(partition)[2], live)
        if len(found_ids):
            index.add(partition, np.asarray(found_ids, dtype=np.int64), vectors)


def rebuild(store: Store, index: VectorIndex) -> int:
    """Drop the index and load every partition from the store; returns the number of vectors."""
    seq = store.last_seq()
    index.clear()
    total = 0
    for partition in store.partitions():
        for ids, vectors in store.iter_partition_vectors(partition):
            index.add(partition, ids, vectors)
            total += len(ids)
    index.mark_applied(seq)
    catch_up(store, index)
    index.save()
    return total
