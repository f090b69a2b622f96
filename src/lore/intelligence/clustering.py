"""Clusters of short texts by their embeddings: average-linkage agglomerative clustering on cosine distance,
cut where clusters would merge at more than a distance threshold.

Why this rule for questions: a threshold says how different two questions may be and still be one topic,
whatever the number of topics (none has to be guessed); average linkage joins a paraphrase to the topic it is
closest to on the whole, where single linkage chains unrelated questions through an ambiguous one (ARI 0.01 on
Banking77) and complete linkage splits a topic over one outlier; and it is deterministic. HDBSCAN, the
alternative, is as good on StackFAQ's tight paraphrase groups but leaves much of Banking77 as noise (1,352 to
1,580 clusters for its 77 intents, ARI 0.15-0.33 against 0.48) and took 10 s for its 3,080 questions against
1.1 s (bench/gaps_study.py; docs/gaps.md).

    >>> labels = cluster(vectors, max_distance=0.45)   # one label per row, 0 for the largest cluster
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def cluster(vectors: np.ndarray, max_distance: float) -> np.ndarray:
    """A label per row of unit `vectors` (shape (n, dim)): rows whose clusters join at a cosine distance of at
    most `max_distance` share one. Labels number clusters by size, largest first (ties: by first row)."""
    count = len(vectors)
    if count <= 1:
        return np.zeros(count, dtype=np.int64)
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    distances = pdist(vectors.astype(np.float64), "cosine")
    np.clip(distances, 0.0, 2.0, out=distances)  # rounding may leave a hair below 0
    raw = fcluster(linkage(distances, method="average"), t=max_distance, criterion="distance")
    return _by_size(raw)


def _by_size(raw: np.ndarray) -> np.ndarray:
    """Renumber labels 0.. by cluster size (largest first), then by each cluster's first row."""
    values, first, counts = np.unique(raw, return_index=True, return_counts=True)
    order = sorted(range(len(values)), key=lambda i: (-counts[i], first[i]))
    renumber = {int(values[i]): label for label, i in enumerate(order)}
    return np.array([renumber[int(value)] for value in raw], dtype=np.int64)


class Centre(NamedTuple):
    """A cluster's unit centroid, and its members ordered from the most central."""

    centroid: np.ndarray
    members: list[int]


def centre(vectors: np.ndarray, members: list[int], weights: np.ndarray) -> Centre:
    """The weighted mean direction of `members` (rows of unit `vectors`; `weights`: how often each row's
    text was asked), and the members by cosine to it, most central first (ties: by row)."""
    rows = vectors[members]
    mean = (rows * weights[members, None]).sum(axis=0)
    centroid = mean / max(float(np.linalg.norm(mean)), 1e-12)
    similarity = rows @ centroid
    ranked = sorted(range(len(members)), key=lambda i: (-float(similarity[i]), members[i]))
    return Centre(centroid.astype(np.float32), [members[i] for i in ranked])
