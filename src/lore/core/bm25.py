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
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

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


def _int_array() -> array[int]:
    return array("i")


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Immutable arrays a search reads outside the lock; a mutation builds new ones instead of editing these."""

    ids: np.ndarray  # slot -> chunk id (int64)
    norms: np.ndarray  # slot -> k1 * (1 - b + b * dl / avgdl) (float32)
    collections: np.ndarray  # slot -> collection code (int32)
    alive: np.ndarray | None  # slot -> live flag; None when nothing was removed
    live: int  # N: live chunks


class _Frozen(NamedTuple):
    """One term's postings as a query reads them: slots (ascending) and each slot's BM25 term score,
    idf * tf * (k1 + 1) / (tf + norm), computed once per snapshot instead of once per query."""

    snapshot: _Snapshot
    slots: np.ndarray  # int64 (intp: numpy converts any other index type on every use)
    scores: np.ndarray  # float32; 0 for removed chunks


@dataclass(slots=True)
class _Tenant:
    """One tenant's postings and per-chunk data. Slots are dense positions; postings hold slots, not ids.

    Postings are typed arrays (4 bytes a slot and a frequency) rather than lists of Python ints (~40 bytes
    each): at a million chunks that is ~1 GB instead of ~6 GB.
    """

    slot_of: dict[int, int] = field(default_factory=dict)  # live chunk id -> slot
    ids: array[int] = field(default_factory=lambda: array("q"))
    lengths: array[int] = field(default_factory=_int_array)
    collections: array[int] = field(default_factory=_int_array)
    dead: set[int] = field(default_factory=set)  # slots of removed chunks, until compaction
    codes: dict[str, int] = field(default_factory=dict)  # collection name -> code
    postings: dict[str, tuple[array[int], array[int]]] = field(default_factory=dict)  # term -> (slots, tfs)
    frozen: dict[str, _Frozen] = field(default_factory=dict)
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
                postings[term] = (array("i", (slot,)), array("i", (tf,)))
            else:
                entry[0].append(slot)
                entry[1].append(tf)
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
        remap = np.full(len(self.ids), -1, dtype=np.int32)
        keep = np.array(sorted(self.slot_of.values()), dtype=np.int64)
        remap[keep] = np.arange(len(keep), dtype=np.int32)
        postings: dict[str, tuple[array[int], array[int]]] = {}
        for term, (slots, tfs) in self.postings.items():
            new_slots = remap[np.frombuffer(slots, dtype=np.int32)]
            kept = new_slots >= 0
            if kept.any():
                kept_tfs = np.frombuffer(tfs, dtype=np.int32)[kept]
                postings[term] = (array("i", new_slots[kept].tobytes()), array("i", kept_tfs.tobytes()))
        self.postings = postings
        self.ids = array("q", np.frombuffer(self.ids, dtype=np.int64)[keep].tobytes())
        self.lengths = array("i", np.frombuffer(self.lengths, dtype=np.int32)[keep].tobytes())
        self.collections = array("i", np.frombuffer(self.collections, dtype=np.int32)[keep].tobytes())
        self.slot_of = {chunk_id: slot for slot, chunk_id in enumerate(self.ids)}
        self.dead = set()
        self.frozen = {}
        self.snapshot = None

    def freeze(self, terms: Iterable[str]) -> tuple[_Snapshot, list[_Frozen]]:
        """Current arrays for a query's terms, scoring a term's postings again only when the snapshot changed."""
        if self.snapshot is None:
            self.snapshot = self._build_snapshot()
        snapshot = self.snapshot
        found = []
        for term in terms:
            frozen = self.frozen.get(term)
            if frozen is None or frozen.snapshot is not snapshot:
                entry = self.postings.get(term)
                if entry is None:
                    continue
                frozen = self.frozen[term] = _freeze_term(snapshot, *entry)
            found.append(frozen)
        return snapshot, found

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


def _freeze_term(snapshot: _Snapshot, slot_array: array[int], tf_array: array[int]) -> _Frozen:
    """idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)) of each posting; removed chunks score 0."""
    slots = np.array(slot_array, dtype=np.int64)
    tfs = np.array(tf_array, dtype=np.float32)
    weights = tfs * np.float32(K1 + 1) / (tfs + snapshot.norms[slots])
    if snapshot.alive is None:
        df = len(slots)
    else:
        live = snapshot.alive[slots]
        df = int(np.count_nonzero(live))
        weights *= live
    idf = math.log(1 + (snapshot.live - df + 0.5) / (df + 0.5)) if df else 0.0
    return _Frozen(snapshot, slots, np.float32(idf) * weights)


def _score_all(snapshot: _Snapshot, postings: Sequence[_Frozen]) -> np.ndarray:
    """BM25 of every slot: the sum over query terms, in query order, of each term's precomputed score."""
    scores = np.zeros(len(snapshot.ids), dtype=np.float32)
    for term in postings:
        scores[term.slots] += term.scores  # slots are distinct within one posting list
    return scores


def _score_slots(postings: Sequence[_Frozen], slots: np.ndarray) -> np.ndarray:
    """BM25 of just these slots, summed in the same order as `_score_all` (so the floats are the same)."""
    scores = np.zeros(len(slots), dtype=np.float32)
    for term in postings:
        at = np.searchsorted(term.slots, slots)
        found = at < len(term.slots)
        found[found] = term.slots[at[found]] == slots[found]
        scores[found] += term.scores[at[found]]
    return scores


def _threshold(scores: np.ndarray, postings: Sequence[_Frozen], k: int, keep: _Keep) -> float:
    """A lower bound on the k-th best score: the k-th best among the chunks of the rarest term (their scores
    are complete). Every chunk of the true top k scores at least this much, so only those need ranking; 0 when
    that term has fewer than k admissible chunks."""
    rarest = min(postings, key=lambda term: len(term.slots))
    values = scores[keep(rarest.slots)]
    values = values[values > 0]
    if len(values) < k:
        return 0.0
    return float(np.partition(values, len(values) - k)[len(values) - k])


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
        snapshot, postings, allowed, _ = frozen
        keep = _admissible(snapshot, allowed, excluded)
        scores = _score_all(snapshot, postings)
        floor = _threshold(scores, postings, k, keep)
        candidates = keep(np.flatnonzero(scores >= floor) if floor > 0 else np.flatnonzero(scores > 0))
        best = _top_k(scores, candidates, k)
        return [
            ScoredChunk(int(chunk_id), float(score))
            for chunk_id, score in zip(snapshot.ids[best].tolist(), scores[best].tolist(), strict=True)
        ]

    def keyword_scores(self, tenant_id: str, query: str, chunk_ids: Sequence[int]) -> dict[int, float]:
        """BM25 of the given chunks for a query (hybrid fusion's keyword side); non-matching ids are left out."""
        terms = query_stems(query)
        frozen = self._freeze(tenant_id, terms, None, chunk_ids) if terms else None
        if frozen is None:
            return {}
        snapshot, postings, _, slots = frozen
        scores = _score_slots(postings, slots)
        matched = scores > 0
        return dict(zip(snapshot.ids[slots[matched]].tolist(), scores[matched].tolist(), strict=True))

    def _freeze(
        self,
        tenant_id: str,
        terms: Sequence[str],
        collections: Sequence[str] | None,
        chunk_ids: Sequence[int] = (),
    ) -> _Query | None:
        """Under the lock: the tenant's snapshot, the query terms' postings, the allowed collection codes and
        the (sorted) slots of those `chunk_ids` that are live."""
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
            found = {slot for chunk_id in chunk_ids if (slot := tenant.slot_of.get(chunk_id)) is not None}
        if not postings:
            return None
        return _Query(snapshot, postings, allowed, np.array(sorted(found), dtype=np.int64))


class _Query(NamedTuple):
    snapshot: _Snapshot
    postings: list[_Frozen]
    allowed: np.ndarray | None  # collection codes; None: all
    slots: np.ndarray  # of the chunks whose scores were asked for


_Keep = Callable[[np.ndarray], np.ndarray]


def _admissible(snapshot: _Snapshot, allowed: np.ndarray | None, excluded: Collection[int]) -> _Keep:
    """A filter of slots down to those a search may return: in an allowed collection, not excluded."""
    passed_over = np.fromiter(excluded, dtype=np.int64, count=len(excluded)) if excluded else None

    def keep(slots: np.ndarray) -> np.ndarray:
        if allowed is not None:
            slots = slots[np.isin(snapshot.collections[slots], allowed)]
        if passed_over is not None:
            slots = slots[~np.isin(snapshot.ids[slots], passed_over)]
        return slots

    return keep
