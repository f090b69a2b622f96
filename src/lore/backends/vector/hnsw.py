"""The HNSW parameters both vector backends (usearch files, pgvector tables) take, with the same meaning."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HnswOptions:
    exact_below: int = 2_500  # partitions with fewer vectors are searched exactly, not through the graph
    connectivity: int = 32  # graph degree (M)
    expansion_add: int = 128  # efConstruction
    expansion_search: int = 128  # ef at query time (at least k)
