"""Prometheus metrics of one app, in the app's own registry: building a second app (tests, several apps in one
process) never collides with the first one's collectors."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, GCCollector, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lore.caching import CacheStats

# Requests answered before or without routing are labelled so, never by their raw path (unbounded labels).
UNMATCHED = "<unmatched>"
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "lore_http_requests",
            "HTTP requests by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "lore_http_request_seconds",
            "HTTP request latency by route template and status.",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.search_seconds = Histogram(
            "lore_search_seconds",
            "Search latency inside the service, by mode.",
            ["mode"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.documents_ingested = Counter(
            "lore_documents_ingested",
            "Documents added or replaced through the API, by body kind.",
            ["kind"],
            registry=self.registry,
        )

    def watch_caches(self, stats: Callable[[], Mapping[str, CacheStats]]) -> None:
        """Export hits, misses and entries of the caches `stats` reports, read at each scrape."""
        self.registry.register(CacheCollector(stats))

    def watch_events(self, counts: Callable[[], Mapping[tuple[str, str], int]]) -> None:
        """Export events by kind and outcome (`lore_events_total`), read from `counts` at each scrape."""
        self.registry.register(EventCollector(counts))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method if method in _METHODS else "OTHER", route, str(status))
        self.requests.labels(*labels).inc()
        self.request_seconds.labels(*labels).observe(seconds)


class CacheCollector:
    """Reads the caches' own counters at scrape time: the hot path pays nothing for being measured."""

    def __init__(self, stats: Callable[[], Mapping[str, CacheStats]]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        hits = CounterMetricFamily("lore_cache_hits", "Cache lookups that found an entry.", labels=["cache"])
        misses = CounterMetricFamily(
            "lore_cache_misses", "Cache lookups that found nothing.", labels=["cache"]
        )
        errors = CounterMetricFamily(
            "lore_cache_errors",
            "Cache lookups and stores that failed (a failed lookup is a miss).",
            labels=["cache"],
        )
        ratio = GaugeMetricFamily("lore_cache_hit_ratio", "Hits per lookup since start.", labels=["cache"])
        entries = GaugeMetricFamily(
            "lore_cache_entries", "Entries held by an in-process cache.", labels=["cache"]
        )
        for name, stats in self.stats().items():
            hits.add_metric([name], stats.hits)
            misses.add_metric([name], stats.misses)
            errors.add_metric([name], stats.errors)
            ratio.add_metric([name], stats.hit_rate)
            if stats.size is not None:
                entries.add_metric([name], stats.size)
        yield from (hits, misses, errors, ratio, entries)


class EventCollector:
    """Events by kind and outcome: a client's are stored, duplicate or rejected; the server's are stored,
    failed (the write failed) or dropped (its buffer was full)."""

    def __init__(self, counts: Callable[[], Mapping[tuple[str, str], int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("lore_events", "Events by kind and outcome.", labels=["kind", "outcome"])
        for (kind, outcome), n in sorted(self.counts().items()):
            family.add_metric([kind, outcome], n)
        yield family


class RequestMetrics:
    """Pure ASGI middleware: counts and times every request under its route template (`/v1/documents/{…}`)."""

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
