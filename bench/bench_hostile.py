"""Search latency against a real `lore serve` while a big upload is ingested, next to searches alone.

    python bench/bench_hostile.py [--sections 10000] [--alone 8] [--bound 50]

A fresh data dir gets a small help centre, then one client searches in a loop (distinct queries, so every search
embeds its query and misses the result cache): first for `--alone` seconds with nothing else running (the
reference), then while one Markdown document of `--sections` sections (one chunk each, a few distinct texts, so
embedding is cheap and the store write and the vector index catch-up dominate) is uploaded, and on until the
index has caught up with the store (as /readyz reports it), for at most `--bound` seconds.

Printed: p50/p99/max of each phase, the upload's duration, how long the index took to catch up after the upload
returned, the largest lag /readyz reported, and the CPU flags the run had (DESIGN.md §5).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchkit import percentiles_ms, ratio, table, write_result
from lore_server import lore_serve

ARTICLES = {
    "refunds": "Refunds are available for 30 days. Open Billing and choose Request refund.",
    "timing": "Once approved, a refund takes five business days to reach your card.",
    "shipping": "Orders ship within two days. Delivery takes about a week.",
    "passwords": "Open Settings, choose Security, then Reset password. A reset link is emailed to you.",
    "gift-cards": "Gift cards are redeemed at checkout under Payment.",
}
QUERIES = ["how do I get a refund", "when does my order ship", "reset my password", "redeem a gift card"]
FLAGS = ("avx2", "avx512f", "avx512_vnni", "amx_tile")


@dataclass
class Phases:
    """Search latencies by the phase they started in."""

    phase: str = "alone"
    seconds: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0

    def record(self, started_in: str, elapsed: float) -> None:
        self.seconds.setdefault(started_in, []).append(elapsed)


def cpu_flags() -> str:
    """Which of the flags that matter here the CPU has, from /proc/cpuinfo."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                present = set(line.split(":", 1)[1].split())
                return " ".join(flag for flag in FLAGS if flag in present) or "none of " + ",".join(FLAGS)
    return "unknown"


def big_markdown(sections: int) -> bytes:
    """`sections` sections of a few distinct texts: each section is one chunk, and embedding costs little."""
    texts = [
        f"Variant {v} of the manual explains refunds, shipping, passwords and gift cards in plain words. " * 3
        for v in range(8)
    ]
    body = "".join(f"## Topic {i % 8}\n\n{texts[i % 8]}\n\n" for i in range(sections))
    return f"# Big manual\n\n{body}".encode()


def search_loop(url: str, phases: Phases, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=300) as client:
        for i in itertools.count():
            if stop.is_set():
                return
            started_in, start = phases.phase, time.perf_counter()
            body = {"query": f"{QUERIES[i % len(QUERIES)]} {i}", "k": 5}
            try:
                ok = client.post("/v1/search", json=body).status_code == 200
            except httpx.HTTPError:
                ok = False
            phases.record(started_in, time.perf_counter() - start)
            phases.errors += not ok


def lag(url: str) -> tuple[int, int]:
    """(HTTP status of /readyz, changes the vector index is behind the store)."""
    response = httpx.get(f"{url}/readyz", timeout=300)
    body = response.json()
    state = body.get("error", {}).get("details", body)
    index = state.get("index", {})
    return response.status_code, int(index.get("store_seq", 0)) - int(index.get("applied_seq", 0))


def until(condition: Callable[[], bool], bound: float) -> bool:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    with lore_serve(data_dir, 1, data_dir.parent / "serve.log") as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for source, text in ARTICLES.items():
                client.post("/v1/documents", json={"title": source, "text": text, "source": source})
        phases, stop = Phases(), threading.Event()
        searcher = threading.Thread(target=search_loop, args=(server.url, phases, stop))
        searcher.start()
        time.sleep(args.alone)
        document = big_markdown(args.sections)
        upload: dict[str, Any] = {}

        def post() -> None:
            start = time.perf_counter()
            files = {"file": ("big.md", document, "text/markdown")}
            with httpx.Client(base_url=server.url, timeout=600) as client:
                upload["status"] = client.post("/v1/documents", files=files).status_code
            upload["seconds"] = time.perf_counter() - start

        uploader = threading.Thread(target=post)
        phases.phase = "during upload"
        begun = time.monotonic()
        uploader.start()
        worst: list[tuple[int, int]] = []

        def watch() -> bool:
            status, behind = lag(server.url)
            worst.append((behind, status))
            return not uploader.is_alive()

        until(watch, args.bound)
        phases.phase = "index catching up"
        returned = time.monotonic() - begun

        def caught_up() -> bool:
            status, behind = lag(server.url)
            worst.append((behind, status))
            return behind == 0

        done = until(caught_up, max(1.0, args.bound - returned))
        caught = time.monotonic() - begun
        stop.set()
        searcher.join()
        uploader.join(600)
    return {
        "phases": {
            name: percentiles_ms(values) | {"n": len(values)} for name, values in phases.seconds.items()
        },
        "errors": phases.errors,
        "upload": upload,
        "upload_bytes": len(document),
        "caught_up_seconds": round(caught, 2) if done else None,
        "max_lag_changes": max(worst)[0] if worst else 0,
        "readyz_statuses": sorted({status for _, status in worst}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", type=int, default=10_000, help="sections (chunks) of the big upload")
    parser.add_argument("--alone", type=float, default=8.0, help="seconds of searches with nothing else")
    parser.add_argument("--bound", type=float, default=50.0, help="seconds at most from the upload's start")
    args = parser.parse_args()
    print(f"cpu flags: {cpu_flags()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lore-bench-hostile-") as scratch:
        result = run(args, Path(scratch) / "data")
    alone = result["phases"].get("alone", {}).get("p99", 0.0)
    rows = [
        [name, stats["n"], stats["p50"], stats["p99"], stats["max"], ratio(stats["p99"], alone)]
        for name, stats in result["phases"].items()
    ]
    print(table(["phase", "searches", "p50 ms", "p99 ms", "max ms", "p99 / alone"], rows))
    upload = result["upload"]
    print(
        f"upload: {result['upload_bytes']:,} bytes, status {upload.get('status')}, "
        f"{upload.get('seconds', float('nan')):.1f} s; index caught up after {result['caught_up_seconds']} s; "
        f"largest lag {result['max_lag_changes']:,} changes; /readyz statuses {result['readyz_statuses']}; "
        f"search errors {result['errors']}"
    )
    path = write_result("hostile", {"args": vars(args), "cpu_flags": cpu_flags(), **result})
    print(f"result: {path}")


if __name__ == "__main__":
    main()
