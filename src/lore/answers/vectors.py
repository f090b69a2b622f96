"""Sentence embeddings for the extractive provider, kept in a bounded in-process LRU: the same articles answer
question after question, so their sentences are embedded once per process."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from lore.interfaces import Embedder

CAPACITY = 20_000  # sentences; 384 float32 each is 1.5 kB, so about 30 MB when full


class SentenceVectors:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
        """The texts' vectors as the embedder's `embed_queries` gives them (one thread), shape (n, dim);
        only those not seen lately are embedded."""
        keys = [(embedder.model_id, text) for text in texts]
        with self._lock:
            known = {key: self._vectors[key] for key in keys if key in self._vectors}
            for key in known:
                self._vectors.move_to_end(key)
        missing = list(dict.fromkeys(key for key in keys if key not in known))
        if missing:
            fresh = embedder.embed_queries([text for _, text in missing])
            known.update(zip(missing, fresh, strict=True))
            self._remember(dict(zip(missing, fresh, strict=True)))
        return np.stack([known[key] for key in keys])

    def _remember(self, vectors: dict[tuple[str, str], np.ndarray]) -> None:
        with self._lock:
            self._vectors.update(vectors)
            while len(self._vectors) > self.capacity:
                self._vectors.popitem(last=False)
