"""An in-memory Okapi BM25 keyword index, derived from the store like the vector index.

SQLite FTS5 computes `bm25()` for every row that matches any query term, so its cost grows with the corpus
(~5 ms at 10k chunks, ~40 ms at 100k). This index keeps per-tenant postings as numpy arrays and scores a query
with a few vectorised gathers, which keeps the unfiltered keyword side of hybrid search well inside the latency
budget. It tokenises exactly as the stores do (`lore.core.keywords`) and adds a light suffix stemmer standing in
for FTS5's porter tokenizer, so "refunds" still finds "refund".

The index is rebuilt from the store's change sequence (`load`, `catch_up`); it is never the source of truth.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lore.core import keywords
from lore.interfaces import ChangeFeed, ChunkSource
from lore.models import Change, Chunk, ScoredChunk, split_partition

K1 = 1.2
B = 0.75
COMPACT_DEAD_FRACTION = 0.25  # rebuild postings once this share of slots belongs to removed chunks
CATCH_UP_BATCH = 10_000

_VOWELS = frozenset("aeiouy")
_KEEP_DOUBLE = frozenset("lsz")


# -- stemming ------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 18)
def stem(term: str) -> str:
    """A small Porter-step-1-like stemmer: plural, -ed/-ing, -ly and a final -e go, so word forms meet.

    Only pure-ASCII alphabetic terms longer than three characters are touched: CJK bigrams, digits and other
    scripts pass through unchanged, as FTS5's porter stemmer leaves them. Cached, because a corpus repeats
    a small vocabulary millions of times.
    """
    if len(term) <= 3 or not (term.isascii() and term.isalpha()):
        return term
    word = _strip_plural(term)
    word = _strip_verb_suffix(word)
    if word.endswith("ly") and len(word) >= 6:
        word = word[:-2]
    if word.endswith("e") and len(word) >= 5:
        word = word[:-1]
    return word


def _strip_plural(word: str) -> str:
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def _strip_verb_suffix(word: str) -> str:
    """Drop -ing/-ed when a syllable remains ("refunded" -> "refund"), undoubling "running" -> "run"."""
    for suffix in ("ing", "ed"):
        stem_ = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem_) >= 3 and _VOWELS.intersection(stem_):
            if stem_[-1] == stem_[-2] and stem_[-1] not in _VOWELS | _KEEP_DOUBLE:
                stem_ = stem_[:-1]
            return stem_
    return word


# -- term extraction -----------------------------------------------------------------------------------------


def chunk_terms(chunk: Chunk) -> tuple[dict[str, int], int]:
    """Stemmed term frequencies and length of a chunk, over the text the SQL stores give FTS5.

    Mirrors `sql.keyword_text` (title, headings, text). Counting before stemming stems each distinct word once.
    """
    words = keywords.index_text("\n".join([chunk.title, *chunk.heading_path, chunk.text])).split()
    counts: dict[str, int] = {}
    for word, tf in Counter(words).items():
        term = stem(word)
        counts[term] = counts.get(term, 0) + tf
    return counts, len(words)


def query_stems(query: str) -> list[str]:
    """Distinct stemmed query terms: a query's "refund" and "refunds" count once, as FTS5 would match them."""
    return list(dict.fromkeys(stem(term) for term in keywords.query_terms(query)))


# -- per-tenant state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Immutable arrays a search reads outside the lock; a mutation builds new ones instead of editing these."""

    ids: np.ndarray  # slot -> chunk id (int64)
    norms: np.ndarray  # slot -> k1 * (1 - b + b * dl / avgdl) (float32)
    collections: np.ndarray  # slot -> collection code (int32)
    alive: np.ndarray | None  # slot -> live flag; None when nothing was removed
    live: int  # N: live chunks


@dataclass(slots=True)
class _Tenant:
    """One tenant's postings and per-chunk data. Slots are dense positions; postings hold slots, not ids."""

    slot_of: dict[int, int] = field(default_factory=dict)  # live chunk id -> slot
    ids: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    collections: list[int] = field(default_factory=list)
    dead: set[int] = field(default_factory=set)  # slots of removed chunks, until compaction
    codes: dict[str, int] = field(default_factory=dict)  # collection name -> code
    postings: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)  # term -> (slots, tfs)
    frozen: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)  # terms whose frozen arrays are stale
    live_length: int = 0
    snapshot: _Snapshot | None = None  # None when stale

    def add(self, chunk: Chunk, counts: dict[str, int], length: int) -> None:
        slot = len(self.ids)
        self.slot_of[chunk.id] = slot
        self.ids.append(chunk.id)
        self.lengths.append(length)
        self.collections.append(self.codes.setdefault(chunk.collection, len(self.codes)))
        self.live_length += length
        postings = self.postings
        for term, tf in counts.items():
            entry = postings.get(term)
            if entry is None:
                postings[term] = ([slot], [tf])
            else:
                entry[0].append(slot)
                entry[1].append(tf)
        self.dirty.update(counts)
        self.snapshot = None

    def remove(self, chunk_id: int) -> None:
        slot = self.slot_of.pop(chunk_id, None)
        if slot is None:
            return
        self.dead.add(slot)
        self.live_length -= self.lengths[slot]
        self.snapshot = None

    def needs_compaction(self) -> bool:
        return len(self.dead) > COMPACT_DEAD_FRACTION * max(len(self.ids), 1)

    def compact(self) -> None:
        """Drop removed chunks from every posting list and renumber slots densely."""
        remap = np.full(len(self.ids), -1, dtype=np.int64)
        keep = np.array(sorted(self.slot_of.values()), dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for term, (slots, tfs) in self.postings.items():
            new_slots = remap[np.asarray(slots, dtype=np.int64)]
            kept = new_slots >= 0
            if kept.any():
                postings[term] = (new_slots[kept].tolist(), np.asarray(tfs)[kept].tolist())
        self.postings = postings
        self.ids = [self.ids[s] for s in keep.tolist()]
        self.lengths = [self.lengths[s] for s in keep.tolist()]
        self.collections = [self.collections[s] for s in keep.tolist()]
        self.slot_of = {chunk_id: slot for slot, chunk_id in enumerate(self.ids)}
        self.dead = set()
        self.frozen = {}
        self.dirty = set(postings)
        self.snapshot = None

    def freeze(self, terms: Iterable[str]) -> tuple[_Snapshot, list[tuple[np.ndarray, np.ndarray]]]:
        """Current arrays for a query's terms, converting only what changed since the last query."""
        if self.snapshot is None:
            self.snapshot = self._build_snapshot()
        found = []
        for term in terms:
            if term in self.dirty:
                slots, tfs = self.postings[term]
                self.frozen[term] = (np.array(slots, dtype=np.int64), np.array(tfs, dtype=np.float32))
                self.dirty.discard(term)
            if (arrays := self.frozen.get(term)) is not None:
                found.append(arrays)
        return self.snapshot, found

    def _build_snapshot(self) -> _Snapshot:
        live = len(self.slot_of)
        avgdl = self.live_length / live if live else 1.0
        lengths = np.array(self.lengths, dtype=np.float32)
        alive = None
        if self.dead:
            alive = np.ones(len(self.ids), dtype=bool)
            alive[list(self.dead)] = False
        return _Snapshot(
            ids=np.array(self.ids, dtype=np.int64),
            norms=(K1 * (1 - B + B * lengths / max(avgdl, 1e-9))).astype(np.float32),
            collections=np.array(self.collections, dtype=np.int32),
            alive=alive,
            live=live,
        )


def _score_all(snapshot: _Snapshot, postings: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """BM25 of every slot: sum over terms of idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))."""
    scores = np.zeros(len(snapshot.ids), dtype=np.float32)
    for slots, tfs in postings:
        weights = tfs * np.float32(K1 + 1) / (tfs + snapshot.norms[slots])
        if snapshot.alive is None:
            df = len(slots)
        else:
            live = snapshot.alive[slots]
            df = int(np.count_nonzero(live))
            weights *= live
        if df == 0:
            continue
        idf = math.log(1 + (snapshot.live - df + 0.5) / (df + 0.5))
        scores[slots] += np.float32(idf) * weights  # slots are distinct within one posting list
    return scores


def _top_k(scores: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """The k best candidate slots, best first; argpartition only over the few slots that matched."""
    values = scores[candidates]
    if len(candidates) > k:
        best = np.argpartition(-values, k - 1)[:k]
        candidates, values = candidates[best], values[best]
    return candidates[np.argsort(-values, kind="stable")]


# -- the index -----------------------------------------------------------------------------------------------


class KeywordIndex:
    """Per-tenant BM25 over chunks (statistics span all of a tenant's collections, as FTS5's span the store).

    Mutations take one lock; a search freezes what it needs under the lock and scores outside it, so readers
    on other threads only wait for the cheap array conversions.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tenants: dict[str, _Tenant] = {}
        self._applied_seq = 0

    # -- mutation --------------------------------------------------------------------------------------------

    def add(self, chunks: Sequence[Chunk]) -> None:
        """Index chunks; ids already present are skipped, so replaying a change twice is harmless."""
        prepared = [(chunk, chunk_terms(chunk)) for chunk in chunks]  # tokenising needs no lock
        with self._lock:
            for chunk, (counts, length) in prepared:
                tenant = self._tenants.setdefault(chunk.tenant_id, _Tenant())
                if chunk.id not in tenant.slot_of:
                    tenant.add(chunk, counts, length)

    def remove(self, chunk_ids: Iterable[int]) -> None:
        """Forget chunks in any tenant; postings are cleaned lazily, in one pass once enough are dead."""
        wanted = set(chunk_ids)
        with self._lock:
            for tenant in self._tenants.values():
                for chunk_id in wanted.intersection(tenant.slot_of):
                    tenant.remove(chunk_id)
                if tenant.needs_compaction():
                    tenant.compact()

    @property
    def applied_seq(self) -> int:
        return self._applied_seq

    def mark_applied(self, seq: int) -> None:
        self._applied_seq = seq

    def clear(self) -> None:
        with self._lock:
            self._tenants.clear()
            self._applied_seq = 0

    # -- derivation from the store ---------------------------------------------------------------------------

    def catch_up(
        self,
        feed: ChangeFeed,
        chunks: ChunkSource,
        relevant: Callable[[Sequence[Change]], Sequence[Change]] = list,
        batch_size: int = CATCH_UP_BATCH,
    ) -> int:
        """Apply the `relevant` part of every change newer than `applied_seq`, and advance past the rest;
        returns how many changes were read."""
        applied = 0
        while changes := feed.changes_since(self.applied_seq, batch_size):
            self._apply(chunks, relevant(changes))
            self.mark_applied(changes[-1].seq)
            applied += len(changes)
        return applied

    def load(self, feed: ChangeFeed, chunks: ChunkSource) -> int:
        """Build from scratch by replaying the whole change sequence; returns the number of live chunks."""
        self.clear()
        self.catch_up(feed, chunks)
        with self._lock:
            return sum(len(tenant.slot_of) for tenant in self._tenants.values())

    def _apply(self, chunks: ChunkSource, changes: Sequence[Change]) -> None:
        """Net effect of a batch: ids are never reused, so an id added and removed in one batch is skipped."""
        added: dict[str, dict[int, None]] = defaultdict(dict)  # ordered set per tenant, deduped by id
        removed: set[int] = set()
        for change in changes:
            if change.op == "add":
                added[split_partition(change.partition)[0]][change.chunk_id] = None
            else:
                removed.add(change.chunk_id)
        if removed:
            self.remove(removed)
        for tenant_id, ids in added.items():
            live = [chunk_id for chunk_id in ids if chunk_id not in removed]
            if live:
                found = chunks.get_chunks(tenant_id, live)
                self.add([found[chunk_id] for chunk_id in live if chunk_id in found])

    # -- queries ---------------------------------------------------------------------------------------------

    def count(self, tenant_id: str) -> int:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            return len(tenant.slot_of) if tenant else 0

    def search(
        self,
        tenant_id: str,
        query: str,
        k: int,
        collections: Sequence[str] | None = None,
        excluded: Collection[int] = (),
    ) -> list[ScoredChunk]:
        """The k best (chunk id, score) pairs, best first; only chunks matching some query term, and none of
        the `excluded` ids (passed over before the top k is taken, so k still come back when k others match).
        """
        terms = query_stems(query)
        if not terms or k < 1:
            return []
        frozen = self._freeze(tenant_id, terms, collections)
        if frozen is None:
            return []
        snapshot, postings, allowed = frozen
        scores = _score_all(snapshot, postings)
        candidates = np.flatnonzero(scores > 0)
        if allowed is not None:
            candidates = candidates[np.isin(snapshot.collections[candidates], allowed)]
        if excluded:
            passed_over = np.fromiter(excluded, dtype=np.int64, count=len(excluded))
            candidates = candidates[~np.isin(snapshot.ids[candidates], passed_over)]
        best = _top_k(scores, candidates, k)
        return [
            ScoredChunk(int(chunk_id), float(score))
            for chunk_id, score in zip(snapshot.ids[best].tolist(), scores[best].tolist(), strict=True)
        ]

    def keyword_scores(self, tenant_id: str, query: str, chunk_ids: Sequence[int]) -> dict[int, float]:
        """BM25 of the given chunks for a query (hybrid fusion's keyword side); non-matching ids are left out."""
        terms = query_stems(query)
        frozen = self._freeze(tenant_id, terms, None) if terms else None
        if frozen is None:
            return {}
        snapshot, postings, _ = frozen
        all_scores = _score_all(snapshot, postings)
        candidates = np.flatnonzero(all_scores > 0)
        wanted = np.fromiter(set(chunk_ids), dtype=np.int64)
        matched = candidates[np.isin(snapshot.ids[candidates], wanted)]
        return {
            int(chunk_id): float(all_scores[slot])
            for chunk_id, slot in zip(snapshot.ids[matched].tolist(), matched.tolist(), strict=True)
        }

    def _freeze(
        self, tenant_id: str, terms: Sequence[str], collections: Sequence[str] | None
    ) -> tuple[_Snapshot, list[tuple[np.ndarray, np.ndarray]], np.ndarray | None] | None:
        """Under the lock: the tenant's snapshot, the query terms' postings and the allowed collection codes."""
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is None or not tenant.slot_of:
                return None
            allowed = None
            if collections is not None:
                codes = [tenant.codes[name] for name in collections if name in tenant.codes]
                if not codes:
                    return None
                allowed = np.array(codes, dtype=np.int32)
            snapshot, postings = tenant.freeze(terms)
        if not postings:
            return None
        return snapshot, postings, allowed
