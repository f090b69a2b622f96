"""`RecommenderModel`: what one tenant's recommendations are computed from, fitted by `fit` and stored as one
`trained_models` payload (kind "recommender"): the catalogue (documents with their content vectors, float16 on
disk), decayed popularity, and the item-kNN and EASE weights of the most engaged items, kept sparse.

The payload is a numpy `.npz` archive of plain arrays (no pickles) plus a JSON header, so loading it runs no code.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np
import scipy.sparse as sp

from lore.backends.store.catalogue import CatalogueItem
from lore.intelligence.recommend import collaborative
from lore.intelligence.recommend.engagement import Engagement
from lore.intelligence.recommend.popularity import decayed_counts

FORMAT = 1
DAY_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each signal counts in the blend (each signal is first scaled to 0..1 over the candidates)."""

    ease: float = 1.0
    knn: float = 0.0
    popularity: float = 0.25
    content: float = 0.1
    context: float = 2.0


@dataclass(frozen=True, slots=True)
class FitParams:
    """How a model is fitted and blended; stored with it, so each version says what it serves."""

    half_life_days: float | None = 14.0
    profile_half_life_days: float | None = 180.0
    ease_lambda: float = 200.0
    neighbours: int = 300
    max_items: int = 2000
    weights: Weights = field(default_factory=Weights)
    diversity: float = 0.05
    related_engagement: float = 0.5
    duplicate_cosine: float = 0.97

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def of(cls, values: dict[str, object]) -> FitParams:
        weights = Weights(**values.pop("weights", {}))  # type: ignore[arg-type]
        return cls(**values, weights=weights)  # type: ignore[arg-type]


@dataclass(slots=True)
class RecommenderModel:
    """Row i of every array is document `ids[i]`; `vectors` rows of documents without one are zero."""

    ids: list[str]
    collections: np.ndarray
    titles: list[str]
    sources: list[str]
    vectors: np.ndarray
    popularity: np.ndarray
    neighbours: sp.csr_matrix
    ease: sp.csr_matrix
    params: FitParams
    watermark: int = 0  # the newest event row id it learnt from
    signature: str = ""  # the catalogue signature it was fitted on
    fitted_at: str = ""
    position: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.position = {document_id: i for i, document_id in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_vector(self) -> np.ndarray:
        return np.abs(self.vectors).sum(axis=1) > 0

    def indices(self, document_ids: Sequence[str]) -> np.ndarray:
        return np.array([self.position[d] for d in document_ids if d in self.position], dtype=np.int64)

    def to_bytes(self) -> bytes:
        header = {
            "format": FORMAT,
            "ids": self.ids,
            "titles": self.titles,
            "sources": self.sources,
            "params": self.params.as_dict(),
            "watermark": self.watermark,
            "signature": self.signature,
            "fitted_at": self.fitted_at,
        }
        arrays: dict[str, np.ndarray] = {
            "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            "collections": np.asarray(self.collections, dtype=str),
            "vectors": self.vectors.astype(np.float16),
            "popularity": self.popularity.astype(np.float32),
        }
        for name in ("neighbours", "ease"):
            matrix: sp.csr_matrix = getattr(self, name)
            arrays |= {f"{name}_{part}": getattr(matrix, part) for part in ("data", "indices", "indptr")}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, payload: bytes) -> RecommenderModel:
        with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
            header = json.loads(arrays["header"].tobytes())
            n = len(header["ids"])

            def matrix(name: str) -> sp.csr_matrix:
                parts = (arrays[f"{name}_{part}"] for part in ("data", "indices", "indptr"))
                return sp.csr_matrix(tuple(parts), shape=(n, n), dtype=np.float32)

            return cls(
                ids=header["ids"],
                collections=arrays["collections"].astype(object),
                titles=header["titles"],
                sources=header["sources"],
                vectors=arrays["vectors"].astype(np.float32),
                popularity=arrays["popularity"],
                neighbours=matrix("neighbours"),
                ease=matrix("ease"),
                params=FitParams.of(header["params"]),
                watermark=int(header["watermark"]),
                signature=header["signature"],
                fitted_at=header["fitted_at"],
            )


def fit(
    items: Sequence[CatalogueItem],
    engaged: Sequence[Engagement],
    now: datetime,
    params: FitParams,
    dim: int,
) -> RecommenderModel:
    """A model over the catalogue `items` from the positive events `engaged` (those of unknown documents are
    ignored); popularity decays from `now`."""
    ids = [item.document_id for item in items]
    position = {document_id: i for i, document_id in enumerate(ids)}
    vectors = np.zeros((len(items), dim), dtype=np.float32)
    for i, item in enumerate(items):
        if item.vector is not None and len(item.vector) == dim:
            vectors[i] = item.vector
    known = [e for e in engaged if e.document_id in position]
    columns = np.array([position[e.document_id] for e in known], dtype=np.int64)
    ages = np.array([(now - e.at).total_seconds() / DAY_SECONDS for e in known], dtype=np.float64)
    popularity = decayed_counts(columns, np.maximum(ages, 0.0), len(ids), params.half_life_days)
    neighbours, ease = _item_weights([e.user_id for e in known], columns, len(ids), params)
    return RecommenderModel(
        ids=ids,
        collections=np.array([item.collection for item in items], dtype=object),
        titles=[item.title for item in items],
        sources=[item.source for item in items],
        vectors=vectors,
        popularity=popularity,
        neighbours=neighbours,
        ease=ease,
        params=params,
        fitted_at=now.isoformat(),
    )


def user_item_matrix(
    users: Sequence[str | None], columns: np.ndarray, n_items: int, max_items: int
) -> tuple[sp.csr_matrix, np.ndarray]:
    """The binary matrix of the known users over the `max_items` items most of them engaged with, and the
    catalogue index of each of its columns."""
    pairs = {(user, int(column)) for user, column in zip(users, columns, strict=True) if user is not None}
    if not pairs:
        return sp.csr_matrix((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64)
    user_ids = {user: i for i, user in enumerate(sorted({user for user, _ in pairs}))}
    rows = np.array([user_ids[user] for user, _ in pairs], dtype=np.int64)
    cols = np.array([column for _, column in pairs], dtype=np.int64)
    counts = np.bincount(cols, minlength=n_items)
    kept = np.flatnonzero(counts)
    kept = kept[np.argsort(-counts[kept], kind="stable")][:max_items]
    local = np.full(n_items, -1, dtype=np.int64)
    local[kept] = np.arange(len(kept))
    mask = local[cols] >= 0
    shape = (len(user_ids), len(kept))
    x = sp.csr_matrix((np.ones(mask.sum(), dtype=np.float32), (rows[mask], local[cols[mask]])), shape=shape)
    return x, kept


def _item_weights(
    users: Sequence[str | None], columns: np.ndarray, n_items: int, params: FitParams
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    x, kept = user_item_matrix(users, columns, n_items, params.max_items)
    empty = sp.csr_matrix((n_items, n_items), dtype=np.float32)
    if len(kept) < 2:
        return empty, empty
    g = collaborative.gram(x)
    knn = collaborative.cosine_neighbours(g, params.neighbours)
    ease = collaborative.top_k(collaborative.ease(g, params.ease_lambda), params.neighbours)
    return _widen(knn, kept, n_items), _widen(ease, kept, n_items)


def _widen(local: sp.csr_matrix, kept: np.ndarray, n_items: int) -> sp.csr_matrix:
    """Weights over the kept items, re-indexed to the whole catalogue."""
    coo = local.tocoo()
    wide = sp.csr_matrix(
        (coo.data, (kept[coo.row], kept[coo.col])), shape=(n_items, n_items), dtype=np.float32
    )
    wide.sort_indices()
    return wide
