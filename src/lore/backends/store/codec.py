"""How values the store cannot keep natively are encoded: vectors as raw float32 blobs, page cursors as text."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from lore.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np

# numpy is imported by the functions that need it: commands that only list records never load it.
VECTOR_DTYPE = "<f4"  # little-endian float32, whatever the machine
BATCH = 2000  # items per IN list: under every driver's bound-parameter limit
T = TypeVar("T")


def encode_vectors(vectors: Mapping[str, np.ndarray]) -> tuple[int, dict[str, bytes]]:
    """(dim, hash -> blob); every vector must be one-dimensional, finite and of the same length."""
    import numpy as np

    blobs: dict[str, bytes] = {}
    dims: set[int] = set()
    for key, vector in vectors.items():
        array = np.asarray(vector, dtype=VECTOR_DTYPE)
        if array.ndim != 1 or array.size == 0 or not np.isfinite(array).all():
            raise InvalidInput(
                "a vector must be a non-empty 1-d array of finite numbers", details={"hash": key}
            )
        dims.add(array.size)
        blobs[key] = array.tobytes()
    if len(dims) > 1:
        raise InvalidInput(
            "vectors of one model must all have the same length", details={"dims": sorted(dims)}
        )
    return (dims.pop() if dims else 0), blobs


def decode_vector(blob: bytes) -> np.ndarray:
    import numpy as np

    return np.frombuffer(blob, dtype=VECTOR_DTYPE).astype(np.float32)


def decode_matrix(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """One writable (n, dim) float32 matrix from n blobs, with a single copy."""
    import numpy as np

    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    buffer = bytearray().join(blobs)
    return np.frombuffer(buffer, dtype=VECTOR_DTYPE).reshape(len(blobs), dim).astype(np.float32, copy=False)


def encode_cursor(created_at: datetime, document_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), document_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor points after; anything not made by `encode_cursor` is `InvalidInput`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, document_id = json.loads(raw)
        when = datetime.fromisoformat(created_at)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as error:
        raise InvalidInput("invalid cursor", details={"cursor": cursor}) from error
    if when.tzinfo is None or not isinstance(document_id, str):
        raise InvalidInput("invalid cursor", details={"cursor": cursor})
    return when, document_id


def encode_number_cursor(number: int) -> str:
    """A cursor that points after a record numbered `number` (a message id, an audit record's seq)."""
    return base64.urlsafe_b64encode(json.dumps([number]).encode()).decode().rstrip("=")


def decode_number_cursor(cursor: str) -> int:
    """The number a cursor of `encode_number_cursor` holds; anything else is `InvalidInput`."""
    try:
        (number,) = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as error:
        raise InvalidInput("invalid cursor", details={"cursor": cursor}) from error
    if not isinstance(number, int) or isinstance(number, bool):
        raise InvalidInput("invalid cursor", details={"cursor": cursor})
    return number


def in_batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """Slices of at most `size` items, one IN list each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
