"""The last hour of the server's figures, for the health page: a ring buffer fed by a daemon thread that reads
the app's metrics every `interval` seconds and keeps, per interval, requests per second, the 5xx share, latency
percentiles (from the deltas of the request histogram's buckets), the caches' hit rate and the queued jobs.

Under `lore serve --workers N` each worker samples the figures of all workers added up (the same files
`/metrics` reads), so whichever worker answers `GET /v1/metrics/history` shows the whole server; each worker
keeps its own buffer, started with the worker.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client.core import Metric

from lore.api.metrics import ApiMetrics
from lore.wire.schemas import MetricsSample

logger = logging.getLogger("lore.api")

QUANTILES = (0.5, 0.95, 0.99)


@dataclass
class Totals:
    """The registry's running totals at one moment: what two moments' difference turns into a sample."""

    at: float
    requests: float = 0.0
    errors: float = 0.0  # 5xx answers
    buckets: dict[float, float] = field(
        default_factory=dict
    )  # request latency: upper bound -> cumulative count
    hits: float = 0.0
    misses: float = 0.0

    @classmethod
    def read(cls, families: Iterable[Metric], at: float) -> Totals:
        totals = cls(at)
        for family in families:
            for sample in family.samples:
                totals._add(sample.name, sample.labels, sample.value)
        return totals

    def _add(self, name: str, labels: Mapping[str, str], value: float) -> None:
        if name == "lore_http_requests_total":
            self.requests += value
            if labels.get("status", "").startswith("5"):
                self.errors += value
        elif name == "lore_http_request_seconds_bucket":
            bound = float(labels["le"])
            self.buckets[bound] = self.buckets.get(bound, 0.0) + value
        elif name == "lore_cache_hits_total":
            self.hits += value
        elif name == "lore_cache_misses_total":
            self.misses += value


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The q-quantile of cumulative bucket counts, interpolated within its bucket as Prometheus's
    `histogram_quantile` does (the largest finite bound when it falls in +Inf); None without observations."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            share = (rank - below) / (count - below) if count > below else 1.0
            return lower + (bound - lower) * share
        lower, below = bound, count
    return lower


def sample_between(before: Totals, after: Totals, queue_depth: int) -> MetricsSample:
    seconds = max(after.at - before.at, 1e-9)
    requests = max(after.requests - before.requests, 0.0)
    errors = max(after.errors - before.errors, 0.0)
    deltas = {bound: count - before.buckets.get(bound, 0.0) for bound, count in after.buckets.items()}
    p50, p95, p99 = (quantile(q, deltas) for q in QUANTILES)
    hits, misses = after.hits - before.hits, after.misses - before.misses
    return MetricsSample(
        at=datetime.now(UTC),
        requests_per_second=round(requests / seconds, 3),
        error_rate=round(errors / requests, 6) if requests else 0.0,
        latency_p50_ms=_ms(p50),
        latency_p95_ms=_ms(p95),
        latency_p99_ms=_ms(p99),
        cache_hit_rate=round(hits / (hits + misses), 6) if hits + misses > 0 else None,
        queue_depth=queue_depth,
    )


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


class MetricsHistory:
    """`window / interval` samples of `metrics`, oldest first, taken by a daemon thread between `start` and
    `stop`."""

    def __init__(self, metrics: ApiMetrics, interval: float, window: float) -> None:
        self.metrics = metrics
        self.interval = interval
        self.window = window
        self.samples: deque[MetricsSample] = deque(maxlen=max(1, int(window // interval)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lore-metrics-history", daemon=True)
        self._last: Totals | None = None

    def start(self) -> None:
        self._last = self._read()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def snapshot(self) -> list[MetricsSample]:
        return list(self.samples)

    def sample(self) -> None:
        """Add the interval since the previous sample (or since `start`)."""
        now = self._read()
        if self._last is not None:
            jobs = self.metrics.store.jobs() or {}
            self.samples.append(sample_between(self._last, now, jobs.get("queued", 0)))
        self._last = now

    def _read(self) -> Totals:
        self.metrics.refresh()
        return Totals.read(self.metrics.live.collect(), time.monotonic())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # the next tick tries again; the health page shows a gap meanwhile
                logger.warning("metrics history: sampling failed", exc_info=True)
