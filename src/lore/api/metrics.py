"""Prometheus metrics of one app, in the app's own registry: building a second app (tests, several apps in one
process) never collides with the first one's collectors.

Under `lore serve --workers N`, `lore serve` names a private folder in `PROMETHEUS_MULTIPROC_DIR` before the
workers start: every worker's counters, histograms and gauges are then kept in files there, and `/metrics`
adds up those of all workers whichever worker answers (`MultiProcessCollector`). Figures one process holds
(its caches' counters, its events, its connection pool, its index lag) are copied into that registry at each
scrape and every history interval (`refresh`); figures of the store (jobs, documents, chunks) are read once per
scrape by the worker that answers, cached for a few seconds. docs/operations.md lists every family.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import version

import sqlalchemy as sa
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lore.api.errors import ERROR_CODE
from lore.backends.store.usage_records import Holdings
from lore.caching import CacheStats
from lore.service.index_sync import Lag

logger = logging.getLogger("lore.api")

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable, read when it is imported
# Requests answered before or without routing are labelled so, never by their raw path (unbounded labels).
UNMATCHED = "<unmatched>"
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_STAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_JOB_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
# Error codes of requests refused before their handler ran, by the reason `lore_http_rejections_total` gives.
REJECTIONS = {
    "rate_limited": "rate_limited",
    "quota_exceeded": "quota",
    "overloaded": "shed",
    "payload_too_large": "too_large",
    "request_timeout": "timeout",
}
STORE_READ_SECONDS = 5.0  # how long a scrape reuses the store's figures read by the previous one


def multiprocess_dir() -> str | None:
    """The folder of the workers' shared metrics, when this process is one of several workers."""
    return os.environ.get(MULTIPROCESS_DIR) or None


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.shared_dir = multiprocess_dir()
        if self.shared_dir is None:  # a process's own figures mean nothing summed over workers
            ProcessCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self.requests = self._counter(
            "lore_http_requests", "HTTP requests by route template and status.", "method", "route", "status"
        )
        self.request_seconds = self._histogram(
            "lore_http_request_seconds",
            "HTTP request latency by route template and status.",
            _LATENCY_BUCKETS,
            "method",
            "route",
            "status",
        )
        self.rejections = self._counter(
            "lore_http_rejections", "Requests refused before their handler ran, by reason.", "reason"
        )
        self.search_seconds = self._histogram(
            "lore_search_seconds", "Search latency inside the service, by mode.", _LATENCY_BUCKETS, "mode"
        )
        self.search_stage_seconds = self._histogram(
            "lore_search_stage_seconds",
            "Time of one search in each stage (embed, keyword, vector, fuse, hydrate, snippets), by mode; searches "
            "answered from the search cache have no stages.",
            _STAGE_BUCKETS,
            "mode",
            "stage",
        )
        self._stage_children: dict[tuple[str, str], Histogram] = {}
        self.documents_ingested = self._counter(
            "lore_documents_ingested", "Documents added or replaced through the API, by body kind.", "kind"
        )
        self.embed_batches = self._counter(
            "lore_embed_batches", "Embedder calls, by purpose (query, document).", "purpose"
        )
        self.embed_texts = self._counter("lore_embed_texts", "Texts embedded, by purpose.", "purpose")
        self.embed_seconds = self._histogram(
            "lore_embed_seconds", "Time of one embedder call, by purpose.", _LATENCY_BUCKETS, "purpose"
        )
        self.job_seconds = self._histogram(
            "lore_job_seconds",
            "Time of one run of a job, by kind and outcome (succeeded, failed, retried).",
            _JOB_BUCKETS,
            "kind",
            "outcome",
        )
        self.process = ProcessFigures(self.registry)
        self.store = StoreFigures()
        self.exposed = CollectorRegistry()  # what /metrics shows: the live figures and the store's
        self.live = CollectorRegistry() if self.shared_dir else self.registry  # what the history samples
        if self.shared_dir is not None:
            MultiProcessCollector(self.exposed, path=self.shared_dir)
            MultiProcessCollector(self.live, path=self.shared_dir)
        else:
            self.exposed.register(Included(self.registry))
        self.exposed.register(self.store)

    def _counter(self, name: str, help_: str, *labels: str) -> Counter:
        return Counter(name, help_, labels, registry=self.registry)

    def _histogram(self, name: str, help_: str, buckets: tuple[float, ...], *labels: str) -> Histogram:
        return Histogram(name, help_, labels, buckets=buckets, registry=self.registry)

    # -- what /metrics reads ----------------------------------------------------------------------------------

    def watch_caches(self, stats: Callable[[], Mapping[str, CacheStats]]) -> None:
        """Export hits, misses, errors and entries of the caches `stats` reports, copied at each refresh."""
        self.process.caches = stats

    def watch_events(self, counts: Callable[[], Mapping[tuple[str, str], int]]) -> None:
        """Export events by kind and outcome (`lore_events_total`), copied from `counts` at each refresh."""
        self.process.events = counts

    def watch_process(self, engine: sa.Engine, lag: Callable[[], Lag]) -> None:
        """Export the connection pool of `engine` and how far this process's vector index is behind."""
        self.process.engine = engine
        self.process.lag = lag

    def watch_store(
        self, jobs: Callable[[], Mapping[str, int]], holdings: Callable[[], Mapping[str, Holdings]]
    ) -> None:
        """Export jobs by state and documents and chunks by tenant, read from the store at scrape time."""
        self.store.jobs_source = jobs
        self.store.holdings_source = holdings

    def refresh(self) -> None:
        """Copy this process's own figures into the registry (cheap: counters in memory, one store read)."""
        self.process.refresh()

    def exposition(self) -> bytes:
        """The Prometheus text of every family, all workers' figures added up under --workers N."""
        self.refresh()
        return generate_latest(self.exposed)

    def close(self) -> None:
        """This worker stops: its live gauges leave the shared sums."""
        if self.shared_dir is not None:
            mark_process_dead(os.getpid(), self.shared_dir)

    # -- what the app and the service report (lore.core.probes.Observer) ----------------------------------------

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method if method in _METHODS else "OTHER", route, str(status))
        self.requests.labels(*labels).inc()
        self.request_seconds.labels(*labels).observe(seconds)

    def rejected(self, error_code: str | None) -> None:
        reason = REJECTIONS.get(error_code or "")
        if reason is not None:
            self.rejections.labels(reason).inc()

    def search_stages(self, mode: str, seconds: Mapping[str, float]) -> None:
        for stage, spent in seconds.items():
            child = self._stage_children.get((mode, stage))
            if child is None:  # few modes and stages: keeping their children halves an observation's cost
                child = self._stage_children[mode, stage] = self.search_stage_seconds.labels(mode, stage)
            child.observe(spent)

    def embedded(self, purpose: str, texts: int, seconds: float) -> None:
        self.embed_batches.labels(purpose).inc()
        self.embed_texts.labels(purpose).inc(texts)
        self.embed_seconds.labels(purpose).observe(seconds)

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        self.job_seconds.labels(kind, outcome).observe(seconds)


class Included:
    """Another registry's families inside the exposed one (single process: the live registry itself)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


class Mirror:
    """Copies totals another part counts (a cache's hits, the events) into a counter by their growth since the
    last copy, so the counters of several worker processes add up. A total that fell (its source started over)
    counts from zero again."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.copied: dict[tuple[str, ...], float] = {}

    def copy(self, totals: Mapping[tuple[str, ...], float]) -> None:
        for labels, total in totals.items():
            before = self.copied.get(labels, 0.0)
            grown = total - before if total >= before else total
            if grown > 0:
                self.counter.labels(*labels).inc(grown)
            self.copied[labels] = total


class ProcessFigures:
    """This process's caches, events, connection pool and index lag, copied into the registry on `refresh`.
    A source that fails is logged and skipped: a scrape never fails for it."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(name: str, help_: str, *labels: str) -> Mirror:
            return Mirror(Counter(name, help_, labels, registry=registry))

        def gauge(name: str, help_: str, mode: str, *labels: str) -> Gauge:
            return Gauge(name, help_, labels, registry=registry, multiprocess_mode=mode)  # type: ignore[arg-type]

        self.caches: Callable[[], Mapping[str, CacheStats]] | None = None
        self.events: Callable[[], Mapping[tuple[str, str], int]] | None = None
        self.engine: sa.Engine | None = None
        self.lag: Callable[[], Lag] | None = None
        self.hits = counter("lore_cache_hits", "Cache lookups that found an entry.", "cache")
        self.misses = counter("lore_cache_misses", "Cache lookups that found nothing.", "cache")
        self.errors = counter(
            "lore_cache_errors", "Cache lookups and stores that failed (a failed lookup is a miss).", "cache"
        )
        self.ratio = gauge(
            "lore_cache_hit_ratio", "Hits per lookup since the process started.", "liveall", "cache"
        )
        self.entries = gauge("lore_cache_entries", "Entries held by in-process caches.", "livesum", "cache")
        self.event_counts = counter("lore_events", "Events by kind and outcome.", "kind", "outcome")
        self.pool = gauge(
            "lore_db_pool_connections",
            "Connections of the store's pool: in_use, idle (open, waiting in the pool), overflow (beyond its "
            "size).",
            "livesum",
            "state",
        )
        self.lag_changes = gauge(
            "lore_index_lag_changes", "Store changes the index has not applied yet.", "livemax", "index"
        )
        self.lag_seconds = gauge(
            "lore_index_lag_seconds",
            "Seconds since the index was last current with the store.",
            "livemax",
            "index",
        )
        self._lock = threading.Lock()  # scrapes and the history sampler refresh concurrently

    def refresh(self) -> None:
        with self._lock:
            for name, step in (
                ("caches", self._caches),
                ("events", self._events),
                ("pool", self._pool),
                ("index lag", self._lag),
            ):
                try:
                    step()
                except Exception:  # a metric is never worth a failed scrape
                    logger.warning("metrics: reading the %s failed", name, exc_info=True)

    def _caches(self) -> None:
        if self.caches is None:
            return
        stats = self.caches()
        self.hits.copy({(name,): s.hits for name, s in stats.items()})
        self.misses.copy({(name,): s.misses for name, s in stats.items()})
        self.errors.copy({(name,): s.errors for name, s in stats.items()})
        for name, s in stats.items():
            self.ratio.labels(name).set(s.hit_rate)
            if s.size is not None:
                self.entries.labels(name).set(s.size)

    def _events(self) -> None:
        if self.events is not None:
            self.event_counts.copy({tuple(labels): n for labels, n in self.events().items()})

    def _pool(self) -> None:
        pool = self.engine.pool if self.engine is not None else None
        if not isinstance(pool, sa.QueuePool):  # other pools (static, null) keep no such counts
            return
        self.pool.labels("in_use").set(pool.checkedout())
        self.pool.labels("idle").set(pool.checkedin())
        self.pool.labels("overflow").set(max(pool.overflow(), 0))

    def _lag(self) -> None:
        if self.lag is not None:
            lag = self.lag()
            self.lag_changes.labels("vector").set(lag.changes)
            self.lag_seconds.labels("vector").set(lag.seconds)


class StoreFigures:
    """Jobs by state and what each tenant stores, read from the store by the scrape (one grouped query each),
    reused for `STORE_READ_SECONDS` so frequent scrapes stay cheap; a failing read is logged and its families
    left out of that scrape. Also the build's version."""

    def __init__(self, max_age: float = STORE_READ_SECONDS) -> None:
        self.max_age = max_age
        self.jobs_source: Callable[[], Mapping[str, int]] | None = None
        self.holdings_source: Callable[[], Mapping[str, Holdings]] | None = None
        self._read: dict[str, tuple[float, Mapping[str, object]]] = {}
        self._lock = threading.Lock()

    def jobs(self) -> Mapping[str, int] | None:
        """Jobs by state, as the last read found them (None: not readable)."""
        return self._cached("jobs", self.jobs_source)  # type: ignore[return-value]

    def holdings(self) -> Mapping[str, Holdings] | None:
        return self._cached("holdings", self.holdings_source)  # type: ignore[return-value]

    def _cached(
        self, name: str, source: Callable[[], Mapping[str, object]] | None
    ) -> Mapping[str, object] | None:
        if source is None:
            return None
        with self._lock:
            now = time.monotonic()
            read = self._read.get(name)
            if read is None or now - read[0] >= self.max_age:
                try:
                    read = self._read[name] = (now, source())
                except Exception:
                    logger.warning("metrics: reading the %s from the store failed", name, exc_info=True)
                    return None
            return read[1]

    def collect(self) -> Iterator[Metric]:
        build = GaugeMetricFamily(
            "lore_build_info", "The running version of Lore (always 1).", labels=["version"]
        )
        build.add_metric([version("lore")], 1)
        yield build
        if (jobs := self.jobs()) is not None:
            family = GaugeMetricFamily("lore_jobs", "Jobs in the queue by state.", labels=["state"])
            for state, n in sorted(jobs.items()):
                family.add_metric([state], n)
            yield family
        if (holdings := self.holdings()) is not None:
            documents = GaugeMetricFamily("lore_documents", "Documents stored, by tenant.", labels=["tenant"])
            chunks = GaugeMetricFamily(
                "lore_chunks", "Chunks of the stored documents, by tenant.", labels=["tenant"]
            )
            for tenant, held in sorted(holdings.items()):
                documents.add_metric([tenant], held.documents)
                chunks.add_metric([tenant], held.chunks)
            yield from (documents, chunks)


class RequestMetrics:
    """Pure ASGI middleware: counts and times every request under its route template (`/v1/documents/{…}`),
    and counts the requests refused before their handler by the error code they were refused with."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            self.metrics.observe_request(scope["method"], route, status, time.perf_counter() - start)
            if status >= 400:
                self.metrics.rejected(scope.get("state", {}).get(ERROR_CODE))
