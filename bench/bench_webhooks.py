"""Webhook delivery latency: from the event's publication on Lore's bus to its arrival at a receiver, through
the job system (a delivery row, a job, a worker thread, a signed POST).

    python bench/bench_webhooks.py [--deliveries 100] [--queue-url redis://127.0.0.1:6379/0]

A `Lore` on a fresh SQLite data dir runs one worker thread (`JobRuntime`, as inside `lore serve`); a Starlette
receiver on loopback records when each delivery arrives. Events are published one at a time, each once the
previous one has arrived, so the figures are unloaded latencies. The queue is the embedded default (huey's
SQLite storage, which an idle worker polls) unless `--queue-url` names another. The reference, in the same run,
is the same signed POST sent straight to the receiver: the HTTP floor.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchkit import percentiles_ms, table, write_result
from lore.bus import BusEvent
from lore.config import Settings
from lore.jobs.runtime import JobRuntime
from lore.models import utcnow
from lore.service import Lore
from lore.webhooks import Subscription
from lore.webhooks.signing import headers, new_secret


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.event = threading.Condition()
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/hook"
        app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    async def hook(self, request: Request) -> Response:
        await request.body()
        with self.event:
            self.arrived[request.headers["webhook-id"]] = time.perf_counter()
            self.event.notify_all()
        return Response(status_code=204)

    def wait(self, event_id: str, timeout: float = 60.0) -> float:
        with self.event:
            if not self.event.wait_for(lambda: event_id in self.arrived, timeout):
                raise TimeoutError(f"delivery {event_id} did not arrive")
            return self.arrived[event_id]

    def __enter__(self) -> Receiver:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def through_jobs(lore: Lore, receiver: Receiver, count: int) -> list[float]:
    lore.store.tenants.ensure_default()
    lore.webhooks.create("default", Subscription(receiver.url, ["job.failed"]))
    latencies = []
    for i in range(count):
        event = BusEvent("job.failed", "default", {"job_id": f"bench-{i}"})
        start = time.perf_counter()
        lore.bus.publish(event)
        latencies.append(receiver.wait(event.id) - start)
    return latencies


def direct(receiver: Receiver, count: int) -> list[float]:
    secret, latencies = new_secret(), []
    with httpx.Client() as http:
        for i in range(count):
            body = f'{{"type":"job.failed","data":{{"job_id":"direct-{i}"}}}}'
            start = time.perf_counter()
            http.post(receiver.url, content=body, headers=headers(f"direct-{i}", body, [secret], utcnow()))
            latencies.append(receiver.wait(f"direct-{i}") - start)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=100)
    parser.add_argument("--queue-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data, Receiver() as receiver:
        settings = Settings(
            _env_file=None,
            data_dir=Path(data),
            queue_url=args.queue_url,
            webhook_allow_loopback=True,
            worker_threads=1,
        )
        with Lore.open(settings) as lore:
            runtime = JobRuntime.for_lore(lore, threads=1)
            runtime.start()
            try:
                through_jobs(lore, receiver, 5)  # warm-up: connections, the secret box, the first job
                jobs = through_jobs(lore, receiver, args.deliveries)
            finally:
                runtime.stop()
        floor = direct(receiver, args.deliveries)
    queue = args.queue_url.split(":", 1)[0] if args.queue_url else "sqlite (embedded default)"
    figures = {"through the job system": percentiles_ms(jobs), "direct signed POST": percentiles_ms(floor)}
    rows = [[name, *(f"{v:.1f}" for v in p.values())] for name, p in figures.items()]
    print(f"{args.deliveries} deliveries, queue: {queue}")
    print(table(["enqueue → receiver (ms)", "p50", "p90", "p99", "max"], rows))
    write_result("webhooks", {"queue": queue, "deliveries": args.deliveries, "latency_ms": figures})


if __name__ == "__main__":
    main()
