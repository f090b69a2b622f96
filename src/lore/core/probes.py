"""Where the pipeline reports how long its work took: the stages of a search, embedding batches, job runs.

The core measures with `perf_counter` and hands plain numbers to the observers attached to a `Probes`; it never
imports a metrics library. The API attaches its Prometheus metrics (`lore.api.metrics.ApiMetrics`); without an
observer a probe costs a few attribute reads.

    >>> probes = Probes()
    >>> probes.attach(observer)  # has search_stages, embedded and job_finished
    >>> with probes.search("hybrid"):
    ...     with Stage("embed"):
    ...         vector = embed(query)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple, Protocol

import numpy as np

from lore.interfaces import Embedder


class _Measuring(NamedTuple):
    """The search under way in this context: seconds by stage name, read off its probes' clock."""

    seconds: dict[str, float]
    clock: Callable[[], float]


_stages: ContextVar[_Measuring | None] = ContextVar("lore_search_stages", default=None)


class Observer(Protocol):
    def search_stages(self, mode: str, seconds: Mapping[str, float]) -> None:
        """One search's time per stage (embed, keyword, vector, fuse, hydrate); a stage it skipped is absent."""
        ...

    def embedded(self, purpose: str, texts: int, seconds: float) -> None:
        """One embedder call: `purpose` is query or document."""
        ...

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        """One run of a job: succeeded, failed (for good) or retried."""
        ...


class Probes:
    """The observers of one `Lore`. Attaching swaps a tuple, so probes read it without a lock. `clock` times
    the stages of searches: wall time, or a benchmark's `time.thread_time` to count CPU time only."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.observers: tuple[Observer, ...] = ()
        self.clock = clock

    def attach(self, observer: Observer) -> None:
        self.observers = (*self.observers, observer)

    def detach(self, observer: Observer) -> None:
        self.observers = tuple(o for o in self.observers if o is not observer)

    @contextmanager
    def search(self, mode: str) -> Iterator[None]:
        """Measure the stages of the search inside; reported once, when it ends (also by an error)."""
        if not self.observers or _stages.get() is not None:  # nobody listens, or an outer search measures
            yield
            return
        seconds: dict[str, float] = {}
        token = _stages.set(_Measuring(seconds, self.clock))
        try:
            yield
        finally:
            _stages.reset(token)
            for observer in self.observers:
                observer.search_stages(mode, seconds)

    def embedded(self, purpose: str, texts: int, seconds: float) -> None:
        for observer in self.observers:
            observer.embedded(purpose, texts, seconds)

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        for observer in self.observers:
            observer.job_finished(kind, outcome, seconds)


class Stage:
    """`with Stage("embed"):` adds the time inside to that stage of the search being measured (nothing when
    none is). A class rather than a generator: entering and leaving it costs a third as much."""

    __slots__ = ("measuring", "name", "start")

    def __init__(self, name: str) -> None:
        self.name = name
        self.measuring: _Measuring | None = None
        self.start = 0.0

    def __enter__(self) -> None:
        self.measuring = _stages.get()
        if self.measuring is not None:
            self.start = self.measuring.clock()

    def __exit__(self, *exc: object) -> None:
        if self.measuring is not None:
            seconds, clock = self.measuring
            seconds[self.name] = seconds.get(self.name, 0.0) + clock() - self.start


class MeteredEmbedder:
    """An embedder whose calls are reported to `probes`: queries and documents, texts and seconds."""

    def __init__(self, embedder: Embedder, probes: Probes) -> None:
        self.inner = embedder
        self.probes = probes
        self.model_id = embedder.model_id
        self.dim = embedder.dim
        self.max_tokens = embedder.max_tokens
        self.unrelated_below = embedder.unrelated_below

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        start = time.perf_counter()
        vectors = self.inner.embed_documents(texts)
        self.probes.embedded("document", len(texts), time.perf_counter() - start)
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        start = time.perf_counter()
        vector = self.inner.embed_query(text)
        self.probes.embedded("query", 1, time.perf_counter() - start)
        return vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        start = time.perf_counter()
        vectors = self.inner.embed_queries(texts)
        self.probes.embedded("query", len(texts), time.perf_counter() - start)
        return vectors

    def coverage(self, text: str) -> float:
        return self.inner.coverage(text)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)
