"""An open-loop load generator: requests arrive at a fixed mean rate with Poisson (exponential) gaps, whether
or not earlier ones have been answered, as a crowd of independent users sends them.

    echo '{"url": "http://127.0.0.1:8000", "path": "/v1/search", "bodies": [...], "rate": 50}' | python bench/poisson.py

A closed-loop client (bench/loadgen.py, wrk) waits for each answer before sending the next request, so a slow
server slows its own load down and its tail hides ("coordinated omission"). Here each request's latency is
counted from the moment it was due to be sent, so time spent waiting for a free connection counts too. A
request goes out on an idle keep-alive connection, or a new one (up to `max_connections`); one the server closed
while it was idle (its header timeout) is replaced and the request sent again, as an HTTP client does. Prints one JSON
object: latencies in seconds, status counts, how late the sends were, the wall time and its own CPU time while
the requests arrived. Loopback only.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from loadgen import LOOPBACK, Connection, Spec, Tally, encode, event_loop_runner


@dataclass
class Arrivals:
    url: str
    path: str
    rate: float  # mean requests per second
    bodies: list[Any] = field(default_factory=list)  # sent in turn, one per arrival
    duration: float = 20.0
    seed: int = 1
    max_connections: int = 256
    timeout: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)


def schedule(rate: float, duration: float, seed: int) -> list[float]:
    """Send times (seconds from the start) with exponential gaps of mean 1/rate."""
    draw, times, at = random.Random(seed), [], 0.0
    while True:
        at += draw.expovariate(rate)
        if at >= duration:
            return times
        times.append(at)


class Pool:
    """Idle keep-alive connections, and new ones while fewer than `limit` are open."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []
        self.free = asyncio.Semaphore(limit)

    async def take(self) -> Connection:
        await self.free.acquire()
        return self.idle.pop() if self.idle else Connection(self.host, self.port)

    def give_back(self, connection: Connection) -> None:
        self.idle.append(connection)
        self.free.release()


async def exchange(
    connection: Connection, request: bytes, timeout: float
) -> tuple[int, dict[str, str], bytes]:
    """One request; sent again once on a new connection when the server had closed an idle one (nothing read)."""
    try:
        return await asyncio.wait_for(connection.exchange(request), timeout)
    except asyncio.IncompleteReadError as error:
        connection.close()
        if error.partial:
            raise
    return await asyncio.wait_for(connection.exchange(request), timeout)


async def send(pool: Pool, request: bytes, due: float, timeout: float, tally: Tally) -> None:
    connection = await pool.take()
    try:
        status, _headers, body = await exchange(connection, request, timeout)
    except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError) as error:
        connection.close()
        tally.record(time.perf_counter() - due, type(error).__name__, str(error))
    else:
        detail = "" if 200 <= status < 300 else body.decode(errors="replace")
        tally.record(time.perf_counter() - due, str(status), detail)
    finally:
        pool.give_back(connection)


async def run(arrivals: Arrivals) -> dict[str, Any]:
    url = urlsplit(arrivals.url)
    spec = Spec(url=arrivals.url, path=arrivals.path, headers=arrivals.headers)
    requests = [encode(spec, url.netloc, body) for body in arrivals.bodies or [None]]
    pool = Pool(url.hostname or "127.0.0.1", url.port or 80, arrivals.max_connections)
    tally, tasks, lateness = Tally(), [], []
    cpu, start = time.process_time(), time.perf_counter()
    for n, offset in enumerate(schedule(arrivals.rate, arrivals.duration, arrivals.seed)):
        due = start + offset
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        lateness.append(time.perf_counter() - due)
        request = requests[n % len(requests)]
        tasks.append(asyncio.create_task(send(pool, request, due, arrivals.timeout, tally)))
    await asyncio.gather(*tasks)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    for connection in pool.idle:
        connection.close()
    return {
        "latencies": tally.latencies,
        "statuses": dict(tally.statuses),
        "error_samples": tally.error_samples,
        "sent": len(tasks),
        "late_p99_ms": 1000 * sorted(lateness)[int(0.99 * (len(lateness) - 1))] if lateness else 0.0,
        "elapsed": elapsed,
        "cpu_seconds": cpu,  # this process's CPU while requests arrived (its start-up left out)
    }


def main() -> None:
    arrivals = Arrivals(**json.load(sys.stdin))
    if urlsplit(arrivals.url).hostname not in LOOPBACK:
        raise SystemExit(f"refusing to load a non-loopback address: {arrivals.url}")
    json.dump(event_loop_runner()(run(arrivals)), sys.stdout)


if __name__ == "__main__":
    main()
