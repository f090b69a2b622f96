"""A bounded HTTP load generator, run in its own process so it never competes with the server for the GIL.

    echo '{"url": "http://127.0.0.1:8000", "path": "/healthz", "method": "GET"}' | python bench/loadgen.py

Reads one JSON spec on stdin, keeps `concurrency` requests in flight (one keep-alive connection each) for
`warmup` seconds (discarded) and then for `duration` seconds or `max_requests` requests, whichever ends first,
and prints one JSON object: each measured request's latency in seconds, status counts, a few error samples and
the measured wall time. Only loopback addresses are accepted. With `retry_after_cap`, a client told 429 or 503
waits its `Retry-After` (at most the cap) before its next request, as a well-behaved client does.

The client speaks just enough HTTP/1.1 (Content-Length bodies, keep-alive) on asyncio streams: httpx spent
about 2 ms of CPU per request, so on this 2-core machine it took most of a core from the server and set the
"floor" itself. This client costs a fraction of that.
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
    retry_after_cap: float | None = None  # set: after a 429/503 a client waits its Retry-After (at most this)


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
    feed: Iterator[bytes]
    deadline: float
    limit: int
    tally: Tally = field(default_factory=Tally)
    started: int = 0

    def take(self) -> bytes | None:
        if time.perf_counter() >= self.deadline or self.started >= self.limit:
            return None
        self.started += 1
        return next(self.feed)


class Connection:
    """One keep-alive HTTP/1.1 connection; reopened after any error or `Connection: close`."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def exchange(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status, headers = parse_head(head)
        if "content-length" not in headers:
            raise ValueError("response without Content-Length")
        body = await reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return status, headers


def encode(spec: Spec, host: str, body: Any) -> bytes:
    """The whole request, built once per distinct body before the clock starts."""
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{spec.method} {spec.path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(payload)}"]
    lines += ["Content-Type: application/json"] if body is not None else []
    lines += [f"{name}: {value}" for name, value in spec.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


async def one_request(connection: Connection, spec: Spec, request: bytes, tally: Tally) -> None:
    start = time.perf_counter()
    try:
        status, headers, body = await asyncio.wait_for(connection.exchange(request), spec.timeout)
    except (
        OSError,
        ValueError,
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
        TimeoutError,
    ) as error:
        connection.close()
        tally.record(time.perf_counter() - start, type(error).__name__, str(error))
        return
    seconds = time.perf_counter() - start
    if not 200 <= status < 300:
        tally.record(seconds, str(status), body.decode(errors="replace"))
        if status in (429, 503) and spec.retry_after_cap is not None:
            await asyncio.sleep(min(float(headers.get("retry-after", "1")), spec.retry_after_cap))
        return
    tally.record(seconds, str(status))
    if spec.server_time_key:
        tally.server_ms.append(float(json.loads(body).get(spec.server_time_key, "nan")))


async def client_loop(connection: Connection, spec: Spec, phase: Phase) -> None:
    while (request := phase.take()) is not None:
        await one_request(connection, spec, request, phase.tally)


async def run_phase(connections: list[Connection], spec: Spec, phase: Phase) -> float:
    start = time.perf_counter()
    await asyncio.gather(*(client_loop(connection, spec, phase) for connection in connections))
    return time.perf_counter() - start


def feed(spec: Spec, host: str, bodies: list[Any]) -> Iterator[bytes]:
    return itertools.cycle([encode(spec, host, body) for body in bodies or [None]])


async def run(spec: Spec) -> dict[str, Any]:
    url = urlsplit(spec.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    connections = [Connection(host, port) for _ in range(spec.concurrency)]
    warm_feed = feed(spec, url.netloc, spec.warmup_bodies or spec.bodies)
    measured_feed = feed(spec, url.netloc, spec.bodies)
    warm = Phase(warm_feed, time.perf_counter() + spec.warmup, 1_000_000)
    await run_phase(connections, spec, warm)
    measured = Phase(measured_feed, time.perf_counter() + spec.duration, spec.max_requests)
    elapsed = await run_phase(connections, spec, measured)
    for connection in connections:
        connection.close()
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
