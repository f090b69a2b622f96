"""A bounded HTTP load generator, run in its own process so it never competes with the server for the GIL.

    echo '{"url": "http://127.0.0.1:8000", "path": "/healthz", "method": "GET"}' | python bench/loadgen.py

Reads one JSON spec on stdin, keeps `concurrency` requests in flight (asyncio + httpx, keep-alive) for
`warmup` seconds (discarded) and then for `duration` seconds or `max_requests` requests, whichever ends first,
and prints one JSON object: each measured request's latency in seconds, status counts, a few error samples and
the measured wall time. Only loopback addresses are accepted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Spec:
    url: str
    path: str
    method: str = "POST"
    bodies: list[Any] = field(default_factory=list)
    warmup_bodies: list[Any] = field(default_factory=list)
    concurrency: int = 16
    duration: float = 30.0
    warmup: float = 3.0
    max_requests: int = 1_000_000
    timeout: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)
    server_time_key: str | None = None  # a response field holding the server's own time, in ms


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)

    def record(self, seconds: float, status: str, detail: str = "") -> None:
        self.latencies.append(seconds)
        self.statuses[status] += 1
        if detail and len(self.error_samples) < 5:
            self.error_samples.append(f"{status}: {detail[:300]}")


@dataclass
class Phase:
    feed: Iterator[Any]
    deadline: float
    limit: int
    tally: Tally = field(default_factory=Tally)
    started: int = 0

    def take(self) -> tuple[bool, Any]:
        if time.perf_counter() >= self.deadline or self.started >= self.limit:
            return False, None
        self.started += 1
        return True, next(self.feed)


async def one_request(client: httpx.AsyncClient, spec: Spec, body: Any, tally: Tally) -> None:
    start = time.perf_counter()
    try:
        response = await client.request(spec.method, spec.path, json=body)
        await response.aread()
    except httpx.HTTPError as error:
        tally.record(time.perf_counter() - start, type(error).__name__, str(error))
        return
    seconds = time.perf_counter() - start
    if not response.is_success:
        tally.record(seconds, str(response.status_code), response.text)
        return
    tally.record(seconds, str(response.status_code))
    if spec.server_time_key:
        tally.server_ms.append(float(response.json().get(spec.server_time_key, "nan")))


async def client_loop(client: httpx.AsyncClient, spec: Spec, phase: Phase) -> None:
    while True:
        more, body = phase.take()
        if not more:
            return
        await one_request(client, spec, body, phase.tally)


async def run_phase(client: httpx.AsyncClient, spec: Spec, phase: Phase) -> float:
    start = time.perf_counter()
    await asyncio.gather(*(client_loop(client, spec, phase) for _ in range(spec.concurrency)))
    return time.perf_counter() - start


def feed(bodies: list[Any]) -> Iterator[Any]:
    return itertools.cycle(bodies) if bodies else itertools.repeat(None)


async def run(spec: Spec) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency)
    async with httpx.AsyncClient(
        base_url=spec.url, limits=limits, timeout=spec.timeout, headers=spec.headers
    ) as client:
        warm = Phase(feed(spec.warmup_bodies or spec.bodies), time.perf_counter() + spec.warmup, 1_000_000)
        await run_phase(client, spec, warm)
        measured = Phase(feed(spec.bodies), time.perf_counter() + spec.duration, spec.max_requests)
        elapsed = await run_phase(client, spec, measured)
    tally = measured.tally
    return {
        "latencies": tally.latencies,
        "statuses": dict(tally.statuses),
        "error_samples": tally.error_samples,
        "server_ms": tally.server_ms,
        "elapsed": elapsed,
        "warmup_requests": warm.started,
    }


def event_loop_runner() -> Callable[[Coroutine[Any, Any, dict[str, Any]]], dict[str, Any]]:
    """uvloop when present (uvicorn[standard] brings it): a cheaper client leaves more CPU to the server."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def main() -> None:
    spec = Spec(**json.load(sys.stdin))
    if urlsplit(spec.url).hostname not in LOOPBACK:
        raise SystemExit(f"refusing to load a non-loopback address: {spec.url}")
    json.dump(event_loop_runner()(run(spec)), sys.stdout)


if __name__ == "__main__":
    main()
