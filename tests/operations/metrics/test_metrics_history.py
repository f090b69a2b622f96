"""`GET /v1/metrics/history`: per-interval figures sampled from the live registry by the app's own thread."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from lore.api.metrics_history import Totals, quantile, sample_between
from lore.security.scopes import Scope
from tests.api.conftest import LiveServer
from tests.keys import bearer, mint_key
from tests.operations.metrics.conftest import HISTORY_SECONDS
from tests.waiting import wait_for


def test_real_requests_show_in_the_next_interval(client: httpx.Client) -> None:
    for _ in range(5):
        assert client.post("/v1/search", json={"query": "refunds"}).status_code == 200

    def busy() -> dict[str, Any] | None:
        samples = client.get("/v1/metrics/history").json()["samples"]
        return next((s for s in reversed(samples) if s["requests_per_second"] > 0), None)

    sample = wait_for(busy, "an interval with requests")
    assert sample["error_rate"] == 0.0
    assert 0 < sample["latency_p50_ms"] <= sample["latency_p95_ms"] <= sample["latency_p99_ms"]
    assert sample["queue_depth"] == 0
    body = client.get("/v1/metrics/history").json()
    assert (body["interval_seconds"], body["window_seconds"]) == (HISTORY_SECONDS, 3600)
    assert [s["at"] for s in body["samples"]] == sorted(s["at"] for s in body["samples"])
    assert set(body["samples"][0]) == {
        "at", "requests_per_second", "error_rate", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
        "cache_hit_rate", "queue_depth",
    }  # fmt: skip


def test_the_repeated_search_shows_as_cache_hits(client: httpx.Client) -> None:
    def hit() -> bool:
        assert client.post("/v1/search", json={"query": "same question"}).status_code == 200
        samples = client.get("/v1/metrics/history").json()["samples"]
        return any((s["cache_hit_rate"] or 0) > 0 for s in samples[-3:])

    wait_for(hit, "an interval with cache hits", poll=HISTORY_SECONDS)


def test_the_history_needs_the_admin_scope(server: LiveServer) -> None:
    searcher = bearer(mint_key(server.lore.store, scopes=frozenset({Scope.SEARCH})))
    response = httpx.get(f"{server.url}/v1/metrics/history", headers=searcher)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_percentiles_are_interpolated_within_their_bucket() -> None:
    buckets = {0.01: 50.0, 0.1: 90.0, 1.0: 100.0, math.inf: 100.0}
    assert quantile(0.5, buckets) == pytest.approx(0.01)
    assert quantile(0.7, buckets) == pytest.approx(0.055)
    assert quantile(0.99, buckets) == pytest.approx(0.91)
    assert quantile(0.5, {0.1: 0.0, math.inf: 0.0}) is None
    assert quantile(0.99, {0.1: 1.0, math.inf: 10.0}) == 0.1  # beyond the last bound: that bound


def test_a_sample_is_the_difference_of_two_readings() -> None:
    before = Totals(at=0.0, requests=10, errors=1, buckets={0.1: 10, 1.0: 10, math.inf: 10}, hits=1, misses=1)
    after = Totals(at=2.0, requests=30, errors=6, buckets={0.1: 10, 1.0: 30, math.inf: 30}, hits=4, misses=2)
    sample = sample_between(before, after, queue_depth=3)
    assert (sample.requests_per_second, sample.error_rate, sample.queue_depth) == (10.0, 0.25, 3)
    assert sample.cache_hit_rate == 0.75
    assert sample.latency_p50_ms == pytest.approx(550.0)
