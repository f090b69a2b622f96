"""How cached values travel as bytes: query embeddings as raw float32, search hits as JSON (never pickle: a
shared cache must not be able to run code in the processes that read it)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import numpy as np

from lore.models import Chunk, Hit


def encode_vector(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def decode_vector(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<f4")  # read-only, like the vectors the in-process cache shares


def encode_hits(hits: list[Hit]) -> bytes:
    return json.dumps([asdict(hit) for hit in hits], ensure_ascii=False).encode()


def decode_hits(raw: bytes) -> list[Hit]:
    return [_hit(item) for item in json.loads(raw)]


def _hit(item: dict[str, Any]) -> Hit:
    return Hit(
        chunk=Chunk(**item["chunk"]),
        score=item["score"],
        snippet=item["snippet"],
        highlights=[(start, end) for start, end in item["highlights"]],
        vector_score=item["vector_score"],
        keyword_score=item["keyword_score"],
        relevance=item.get("relevance"),
    )
