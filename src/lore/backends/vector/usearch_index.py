"""The embedded vector index: one usearch HNSW graph per partition, persisted as atomic snapshots.

Files in the index directory:

    manifest.json                          the current snapshot: {format, dim, applied_seq, partitions}
    <slug>-<hash>-<seq>-<token>.usearch    one partition, written once under a unique name, never in place
    *.<token>.tmp                          a write in progress; left behind only by a crash
    .lock                                  flock: exclusive while saving and cleaning up, shared while loading

A save writes the dirty partitions to temporary files, fsyncs and renames them, then replaces the manifest the
same way, and only then deletes files the new manifest does not name. A crash at any point leaves the previous
manifest and every file it names intact. Anything unreadable on open (manifest, a file, a checksum) makes the
index start empty at `applied_seq` 0, so the caller rebuilds it from the store.

    >>> index = UsearchIndex(Path("lore-data/index"))
    >>> index.add("default/default/minilm-l6-v2@int8", ids, vectors)
    >>> index.search(["default/default/minilm-l6-v2@int8"], query, k=10)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
import zlib
from collections.abc import Collection, Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import numpy as np
import onnxruntime  # noqa: F401  # before usearch: it loads numkong with RTLD_GLOBAL, which crashes a later onnxruntime import
from usearch.compiled import MetricKind
from usearch.index import Index
from usearch.index import search as flat_search

from lore.backends.vector.hnsw import HnswOptions
from lore.errors import InvalidInput
from lore.models import IdVectors, ScoredChunk

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LOCK = ".lock"
FORMAT = 1
# Vectors inserted per hold of the lock: an HNSW insert takes ~0.1 ms, and several ms among thousands of equal
# vectors (a hostile upload of one paragraph repeated), so a search never waits long behind an insert.
ADD_SLICE = 4
DIRECT_FILTER_LIMIT = 256  # allowed sets this small are scored directly: ~1.3 µs per id with `get`
OVERFETCH_LIMIT = (
    1024  # an HNSW fetch of ~600 costs an exact scan of 100k; an exact fetch above ~1k costs more
)
_PARTITION_FILE = re.compile(r"^[\w.-]+-[0-9a-f]{12}-\d+-[0-9a-f]{8}\.usearch$")
_TEMP_FILE = re.compile(r"^[\w.-]+\.[0-9a-f]{8}\.tmp$")

Hits = tuple[np.ndarray, np.ndarray]  # (int64 ids, float32 cosine similarities), best first


@dataclass(frozen=True, slots=True)
class _Entry:
    """One partition file of a snapshot; size and CRC catch a damaged file before usearch's loader sees it."""

    file: str
    size: int
    crc32: int


@dataclass(frozen=True, slots=True)
class _Manifest:
    applied_seq: int
    dim: int
    partitions: dict[str, _Entry]

    def to_json(self) -> dict[str, Any]:
        parts = {name: asdict(entry) for name, entry in sorted(self.partitions.items())}
        return {"format": FORMAT, "dim": self.dim, "applied_seq": self.applied_seq, "partitions": parts}

    @classmethod
    def from_json(cls, raw: Any) -> _Manifest:
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ValueError("not a version-1 index manifest")
        parts = {str(name): _Entry(**entry) for name, entry in raw["partitions"].items()}
        if not all(_PARTITION_FILE.match(e.file) for e in parts.values()):
            raise ValueError("manifest names a file outside the index layout")
        return cls(applied_seq=int(raw["applied_seq"]), dim=int(raw["dim"]), partitions=parts)


class _Allowed:
    """The ids a filtered search may return: a set to filter candidates, an array (made once, only if
    needed) to score them all."""

    def __init__(self, ids: Collection[int]) -> None:
        self.ids: AbstractSet[int] = ids if isinstance(ids, AbstractSet) else set(ids)

    @cached_property
    def array(self) -> np.ndarray:
        return np.fromiter((i for i in self.ids if i >= 0), dtype=np.int64)


class UsearchIndex:
    """`VectorIndex` on usearch, one HNSW graph per partition; small partitions are searched exactly.

    Every method takes one lock: searches are ~1 ms and correctness comes first. A save holds it too, and
    usearch keeps the GIL while writing a file (~0.5 s per 100k vectors), so only dirty partitions are written.
    Searches use one thread (DESIGN §9); `add_threads` may be raised for bulk rebuilds on an idle machine.
    """

    def __init__(
        self,
        directory: Path,
        dim: int = 384,
        *,
        hnsw: HnswOptions = HnswOptions(),
        add_threads: int = 1,
    ) -> None:
        self._dir = Path(directory)
        self._dim = dim
        self._hnsw = hnsw
        self._add_threads = add_threads
        self._lock = threading.RLock()
        self._indexes: dict[str, Index] = {}
        self._entries: dict[str, _Entry] = {}  # the file that holds each partition's last saved state
        self._dirty: set[str] = set()
        self._applied_seq = 0
        self._dir.mkdir(parents=True, exist_ok=True)
        self._open()

    # -- VectorIndex -----------------------------------------------------------------------------------------

    def add(self, partition: str, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace: an id already in the partition gets the new vector. A few vectors at a time, the
        lock given up in between: a search beside a long insert (an index catching up) waits for one slice."""
        keys, matrix = self._checked_batch(ids, vectors)
        step = ADD_SLICE * self._add_threads
        for start in range(0, len(keys), step):
            self._add(partition, keys[start : start + step], matrix[start : start + step])
            time.sleep(
                0
            )  # yield, so a search waiting for the lock takes it now rather than after the next slice

    def _add(self, partition: str, keys: np.ndarray, matrix: np.ndarray) -> None:
        with self._lock:
            index = self._indexes.get(partition)
            if index is None:
                index = self._new_partition(partition)
            present = keys[index.contains(keys)]
            if len(present):
                index.remove(present)  # usearch refuses duplicate keys unless multi=True
            index.add(keys, matrix, threads=self._add_threads)
            self._dirty.add(partition)

    def remove(self, partition: str, ids: Sequence[int]) -> None:
        keys = np.asarray(ids, dtype=np.int64).reshape(-1)
        keys = keys[keys >= 0].astype(np.uint64)
        with self._lock:
            index = self._indexes.get(partition)
            if index is not None and len(keys) and index.remove(keys):
                self._dirty.add(partition)

    def search(
        self,
        partitions: Sequence[str],
        query: np.ndarray,
        k: int,
        allowed: Collection[int] | None = None,
    ) -> list[ScoredChunk]:
        """(chunk id, cosine similarity) best first over the union of the partitions."""
        q = self._checked_query(query)
        if k <= 0 or (allowed is not None and not allowed):
            return []
        only = None if allowed is None else _Allowed(allowed)
        with self._lock:
            found = [
                self._search_partition(index, q, k, only)
                for name in dict.fromkeys(partitions)
                if (index := self._indexes.get(name)) is not None and len(index)
            ]
        return _merge(found, k)

    def vectors(self, partitions: Sequence[str], ids: Sequence[int]) -> IdVectors:
        wanted = np.asarray(ids, dtype=np.int64).reshape(-1)
        wanted = wanted[wanted >= 0]
        found: dict[int, np.ndarray] = {}
        with self._lock:
            for name in dict.fromkeys(partitions):
                index = self._indexes.get(name)
                missing = np.asarray([i for i in wanted.tolist() if i not in found], dtype=np.uint64)
                if index is None or not len(missing):
                    continue
                present = missing[index.contains(missing)]
                if len(present):
                    found.update(
                        zip(present.tolist(), cast(Sequence[np.ndarray], index.get(present)), strict=True)
                    )
        order = [i for i in wanted.tolist() if i in found]
        matrix = np.asarray([found[i] for i in order], dtype=np.float32).reshape(len(order), self._dim)
        return IdVectors(np.asarray(order, dtype=np.int64), matrix)

    def count(self, partition: str) -> int:
        with self._lock:
            index = self._indexes.get(partition)
            return 0 if index is None else len(index)

    @property
    def applied_seq(self) -> int:
        return self._applied_seq

    def mark_applied(self, seq: int) -> None:
        with self._lock:
            self._applied_seq = seq

    def save(self) -> None:
        """Persist a complete snapshot at `applied_seq`; other processes sharing the directory see it or the
        previous one, never a mix."""
        with _file_lock(self._dir / LOCK, fcntl.LOCK_EX), self._lock:  # not holding our lock while waiting
            entries = {name: self._saved_entry(name, index) for name, index in self._indexes.items()}
            manifest = _Manifest(self._applied_seq, self._dim, entries)
            if _read_manifest_quietly(self._dir / MANIFEST) != manifest:
                _fsync(self._dir)  # the partition renames are durable before the manifest names them
                _write_json_atomic(self._dir / MANIFEST, manifest.to_json())
            self._entries = entries
            self._dirty.clear()
            _remove_unreferenced(self._dir, {entry.file for entry in entries.values()})

    def close(self) -> None:
        """Nothing to release: partitions are loaded into memory, and files are open only while read or written."""

    def clear(self) -> None:
        """Forget every partition and start again at `applied_seq` 0; the files go with the next `save`."""
        with self._lock:
            self._indexes, self._entries, self._dirty = {}, {}, set()
            self._applied_seq = 0

    # -- searching -------------------------------------------------------------------------------------------

    def _search_partition(self, index: Index, q: np.ndarray, k: int, allowed: _Allowed | None) -> Hits:
        exact = len(index) < self._hnsw.exact_below
        if allowed is None:
            return _matches(index, q, k, exact=exact)
        return _search_allowed(index, q, k, allowed, exact=exact)

    # -- persistence -----------------------------------------------------------------------------------------

    def _open(self) -> None:
        try:
            with _file_lock(self._dir / LOCK, fcntl.LOCK_SH):
                manifest = _read_manifest(self._dir / MANIFEST)
                if manifest is None:
                    return
                if manifest.dim != self._dim:
                    raise ValueError(f"the snapshot holds {manifest.dim}-d vectors, not {self._dim}-d")
                indexes = {name: self._load(entry) for name, entry in manifest.partitions.items()}
        except Exception as err:  # whatever is unreadable is rebuilt from the store: never fatal
            logger.warning("vector index in %s is unreadable (%s); starting empty to rebuild", self._dir, err)
            return
        self._indexes, self._entries, self._applied_seq = indexes, manifest.partitions, manifest.applied_seq

    def _load(self, entry: _Entry) -> Index:
        path = self._dir / entry.file
        if path.stat().st_size != entry.size or _crc32(path) != entry.crc32:
            raise ValueError(f"{entry.file} does not match its checksum")
        # the file keeps the graph's connectivity but not the expansion factors
        index = Index.restore(
            path, expansion_add=self._hnsw.expansion_add, expansion_search=self._hnsw.expansion_search
        )
        if index is None or index.ndim != self._dim or index.metric_kind != MetricKind.Cos:
            raise ValueError(f"{entry.file} is not a {self._dim}-d cosine index")
        return index

    def _saved_entry(self, name: str, index: Index) -> _Entry:
        """The file holding this partition: the last one if unchanged and still there, else a new one.
        (Another process's save may have deleted a file only this process still names.)"""
        entry = self._entries.get(name)
        if name in self._dirty or entry is None or not (self._dir / entry.file).exists():
            entry = self._write_partition(name, index)
        return entry

    def _write_partition(self, name: str, index: Index) -> _Entry:
        final = self._dir / f"{_file_stem(name)}-{self._applied_seq}-{secrets.token_hex(4)}.usearch"
        temp = _temp_path(final)
        index.save(os.fspath(temp))  # holds the GIL throughout: ~0.5-1 s per 100k vectors
        _fsync(temp)
        entry = _Entry(final.name, temp.stat().st_size, _crc32(temp))
        temp.replace(final)
        return entry

    # -- helpers ---------------------------------------------------------------------------------------------

    def _new_partition(self, name: str) -> Index:
        index = Index(
            ndim=self._dim,
            metric="cos",
            dtype="f32",
            connectivity=self._hnsw.connectivity,
            expansion_add=self._hnsw.expansion_add,
            expansion_search=self._hnsw.expansion_search,
            multi=False,
        )
        self._indexes[name] = index
        return index

    def _checked_batch(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint64 keys without duplicates (the last vector of a repeated id wins) and a float32 matrix."""
        keys = np.asarray(ids, dtype=np.int64).reshape(-1)
        matrix = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
        if matrix.shape != (len(keys), self._dim):
            raise InvalidInput(f"expected {len(keys)} ids' {self._dim}-d vectors, got shape {matrix.shape}")
        if len(keys) and keys.min() < 0:
            raise InvalidInput("vector ids must be non-negative")
        _, last = np.unique(keys[::-1], return_index=True)
        if len(last) < len(keys):  # usearch would insert part of the batch, then fail
            keep = np.sort(len(keys) - 1 - last)
            keys, matrix = keys[keep], matrix[keep]
        return keys.astype(np.uint64), matrix

    def _checked_query(self, query: np.ndarray) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self._dim:
            raise InvalidInput(f"expected a {self._dim}-d query vector, got {q.shape[0]}-d")
        return q


def _matches(index: Index, q: np.ndarray, count: int, *, exact: bool) -> Hits:
    found = index.search(q, min(count, len(index)), threads=1, exact=exact)
    return found.keys.astype(np.int64), (1.0 - found.distances).astype(np.float32)


def _score_ids(index: Index, ids: np.ndarray, q: np.ndarray, k: int) -> Hits:
    """Exact scores of just these ids, with usearch's own cosine kernel so every path scores alike."""
    present = ids[index.contains(ids.astype(np.uint64))]
    if not len(present):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    matrix = np.vstack(cast(tuple[np.ndarray, ...], index.get(present.astype(np.uint64))))
    found = flat_search(matrix, q, min(k, len(present)), MetricKind.Cos, exact=True, threads=1)
    return present[found.keys.astype(np.int64)], (1.0 - found.distances).astype(np.float32)


def _search_allowed(index: Index, q: np.ndarray, k: int, allowed: _Allowed, *, exact: bool) -> Hits:
    """Over-fetch once, by how common the allowed ids are, and filter; when that would cost more than an exact
    scan, or comes up short (the allowed ids lie far from the query), score the allowed ids themselves."""
    fetch = max(4 * k, 2 * k * len(index) // len(allowed.ids))
    if len(allowed.ids) > DIRECT_FILTER_LIMIT and fetch <= OVERFETCH_LIMIT and fetch < len(index):
        ids, scores = _keep_allowed(_matches(index, q, fetch, exact=exact), allowed.ids)
        if len(ids) >= k:
            return ids[:k], scores[:k]
    return _score_ids(index, allowed.array, q, k)


def _keep_allowed(hits: Hits, allowed: AbstractSet[int]) -> Hits:
    ids, scores = hits
    mask = np.fromiter((i in allowed for i in ids.tolist()), dtype=bool, count=len(ids))
    return ids[mask], scores[mask]


def _merge(found: list[Hits], k: int) -> list[ScoredChunk]:
    """Best first over all partitions; an id found twice keeps its best score."""
    best: dict[int, float] = {}
    for ids, scores in found:
        for chunk_id, score in zip(ids.tolist(), scores.tolist(), strict=True):
            if score > best.get(chunk_id, -np.inf):
                best[chunk_id] = score
    ranked = sorted(best.items(), key=lambda hit: (-hit[1], hit[0]))[:k]
    return [ScoredChunk(chunk_id, score) for chunk_id, score in ranked]


# -- files ---------------------------------------------------------------------------------------------------


def _file_stem(partition: str) -> str:
    """A readable, filesystem-safe name that stays unique: a slug of the partition plus a hash of it."""
    slug = re.sub(r"[^\w.-]+", "-", partition, flags=re.ASCII).strip("-.")[:60] or "partition"
    return f"{slug}-{hashlib.sha256(partition.encode()).hexdigest()[:12]}"


def _temp_path(final: Path) -> Path:
    return final.with_name(f"{final.name}.{secrets.token_hex(4)}.tmp")


@contextmanager
def _file_lock(path: Path, mode: int) -> Iterator[None]:
    """Serialise saves (and loads) across processes; flock also serialises two instances in one process."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # releases the lock


def _read_manifest(path: Path) -> _Manifest | None:
    if not path.exists():
        return None
    return _Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))


def _read_manifest_quietly(path: Path) -> _Manifest | None:
    try:
        return _read_manifest(path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    temp = _temp_path(path)
    temp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    _fsync(temp)
    temp.replace(path)
    _fsync(path.parent)


def _remove_unreferenced(directory: Path, keep: set[str]) -> None:
    """Delete old partition files and temporary files; called under the exclusive lock, so no save is
    in progress and no load is reading them."""
    for path in directory.iterdir():
        stale = _PARTITION_FILE.match(path.name) and path.name not in keep
        if stale or _TEMP_FILE.match(path.name):
            path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Make a file's contents, or a directory's renames, durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc
