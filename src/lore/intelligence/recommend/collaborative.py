"""Item-item collaborative models on the binary user-item matrix X (users x items, 1 = engaged):

- item-kNN: cosine between item columns, each item keeping its `k` nearest neighbours;
- EASE (Steck 2019): B = I - P / diag(P) with P = (X'X + lambda I)^-1, the closed form of the best item-item
  linear model with a zero diagonal; kept sparse as each item's `k` weights of largest magnitude.

A user's scores are X_u W for either weight matrix W (items x items, row = the item engaged, column = the item
scored).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def gram(x: sp.csr_matrix) -> np.ndarray:
    """X'X as a dense float64 matrix: co-engagement counts, with each item's engagements on the diagonal."""
    return np.asarray((x.T @ x).toarray(), dtype=np.float64)


def cosine_neighbours(g: np.ndarray, k: int) -> sp.csr_matrix:
    """Item-kNN weights from the Gram matrix: cosine similarity, the diagonal excluded, top `k` per row."""
    norms = np.sqrt(np.diag(g))
    norms[norms == 0] = 1.0
    cosine = g / norms[:, None] / norms[None, :]
    np.fill_diagonal(cosine, 0.0)
    return top_k(cosine, k)


def ease(g: np.ndarray, lam: float) -> np.ndarray:
    """EASE weights B (dense), from the Gram matrix and the L2 penalty `lam`."""
    inverse = np.linalg.inv(g + lam * np.eye(len(g)))
    weights = inverse / -np.diag(inverse)[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


def top_k(weights: np.ndarray, k: int) -> sp.csr_matrix:
    """Each row's `k` weights of largest magnitude (EASE's negative weights matter as much as its positive
    ones), the rest dropped (float32)."""
    n = weights.shape[0]
    if n == 0:
        return sp.csr_matrix((0, 0), dtype=np.float32)
    keep = min(k, n)
    columns = np.argpartition(-np.abs(weights), keep - 1, axis=1)[:, :keep]
    values = np.take_along_axis(weights, columns, axis=1)
    rows = np.repeat(np.arange(n), keep)
    mask = values.ravel() != 0
    matrix = sp.csr_matrix(
        (values.ravel()[mask], (rows[mask], columns.ravel()[mask])), shape=weights.shape, dtype=np.float32
    )
    matrix.sort_indices()
    return matrix


def scores(weights: sp.csr_matrix, engaged: np.ndarray, strengths: np.ndarray | None = None) -> np.ndarray:
    """X_u W for a user who engaged with the items `engaged` (indices), each counting `strengths` (1: all)."""
    if len(engaged) == 0:
        return np.zeros(weights.shape[1], dtype=np.float32)
    if strengths is None:
        strengths = np.ones(len(engaged), dtype=np.float32)
    return np.asarray(weights[engaged].T @ strengths, dtype=np.float32).ravel()
