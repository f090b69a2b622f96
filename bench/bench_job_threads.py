"""What the embedded job threads cost `lore serve --workers 1`: repeated-query latency and idle CPU, with the
job worker threads on (`LORE_WORKER_THREADS=1`, the default) and off (0), side by side.

    python bench/bench_job_threads.py [--docs 500] [--rounds 3] [--duration 15] [--concurrency 16]

The first `--docs` SciFact records are ingested once into `--data-dir` (reused by later runs). Then, `--rounds`
times and alternating (the shared machine's load drifts), a server with each setting is started and measured:
its CPU time over `--idle` seconds with no requests (read from /proc: what the background threads burn), then
the repeated workload of bench_search.py (hybrid over a hot set of `--hot` queries, all cache hits after the
warm-up) for `--duration` seconds, with a healthz floor right before it. The latencies of all rounds of a
setting are pooled; the ratio is threads on over threads off.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_search import FLOOR, LOADGEN, SEARCH, Workload, all_queries, search_body
from benchkit import RESULTS, SCIFACT, context, percentiles_ms, ratio, table, write_result
from lore.config import Settings
from lore.evaluation.datasets import load_beir
from lore.service import Lore
from lore_server import Server, lore_serve
from serverload import tree_cpu_seconds

SETTINGS = {"off": "0", "on": "1"}


def ensure_corpus(dataset: Path, data_dir: Path, docs: int) -> None:
    with Lore.open(Settings(data_dir=data_dir)) as lore:
        report = lore.add_corpus(itertools.islice(load_beir(dataset).corpus(), docs))
    print(f"corpus: {report.files} docs, {report.embedded} embedded, {report.seconds:.1f} s", flush=True)


def load(server: Server, workload: Workload, args: argparse.Namespace, duration: float) -> dict[str, Any]:
    """bench/loadgen.py in its own process: every measured latency (s) and the non-2xx count."""
    spec = {
        "url": server.url,
        "path": workload.path,
        "method": workload.method,
        "bodies": workload.bodies,
        "warmup_bodies": workload.warmup_bodies,
        "concurrency": args.concurrency,
        "duration": duration,
        "warmup": args.warmup,
        "headers": server.headers,
    }
    done = subprocess.run(
        [sys.executable, str(LOADGEN)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=args.warmup + duration + 120,
        check=True,
    )
    raw = json.loads(done.stdout)
    errors = sum(n for status, n in raw["statuses"].items() if not status.startswith("2"))
    return {"latencies": raw["latencies"], "errors": errors, "latency_ms": percentiles_ms(raw["latencies"])}


def one_round(args: argparse.Namespace, name: str, hot: Workload) -> dict[str, Any]:
    env = {"LORE_WORKER_THREADS": SETTINGS[name]}
    with lore_serve(args.data_dir, 1, RESULTS / f"serve-jobs-{name}.log", env=env) as server:
        time.sleep(2.0)  # start-up work (index catch-up, first scheduler ticks) is not idle time
        before = tree_cpu_seconds(server.pid)
        time.sleep(args.idle)
        idle = (tree_cpu_seconds(server.pid) - before) / args.idle
        floor = load(server, FLOOR, args, 5.0)
        result = load(server, hot, args, args.duration)
    print(
        f"  threads {name:<3}  idle cpu {idle * 100:5.2f}%  healthz p99 {floor['latency_ms']['p99']:6.2f} ms  "
        f"repeated p50 {result['latency_ms']['p50']:6.2f} ms  p99 {result['latency_ms']['p99']:7.2f} ms  "
        f"errors {result['errors']}  load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return {"idle_cpu": idle, "floor": floor, "result": result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=500, help="SciFact records to ingest")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per setting")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per round")
    parser.add_argument("--warmup", type=float, default=3.0, help="discarded seconds before each round")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measured per round")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--hot", type=int, default=32, help="distinct queries of the repeated workload")
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="BEIR-layout data set")
    parser.add_argument("--data-dir", type=Path, default=RESULTS / "cache" / "scifact-500")
    args = parser.parse_args()
    print(f"job threads: cpu flags {context()['cpu_flags']}", flush=True)
    ensure_corpus(args.dataset, args.data_dir, args.docs)
    queries = all_queries(args.dataset)
    hot = [search_body(q, "hybrid", 10) for q in queries[: args.hot]]
    workload = Workload("repeated", "POST", SEARCH, hot, hot)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in SETTINGS}
    for _ in range(args.rounds):
        for name in SETTINGS:
            rounds[name].append(one_round(args, name, workload))
    summary = {name: summarise(runs) for name, runs in rounds.items()}
    off, on = summary["off"], summary["on"]
    rows = [
        (name, s["requests"], s["p50"], s["p99"], s["healthz_p99"], round(s["idle_cpu"] * 100, 2))
        for name, s in summary.items()
    ]
    print(table(("job threads", "requests", "p50 ms", "p99 ms", "healthz p99 ms", "idle cpu %"), rows))
    print(f"p50 ratio on/off {ratio(on['p50'], off['p50'])}  p99 ratio on/off {ratio(on['p99'], off['p99'])}")
    path = write_result("job_threads", {"settings": {k: str(v) for k, v in vars(args).items()}, **summary})
    print(f"results: {path.relative_to(path.parents[2])}")


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = [ms for run in runs for ms in run["result"]["latencies"]]
    pooled = percentiles_ms(latencies)
    return {
        "requests": len(latencies),
        "p50": pooled["p50"],
        "p99": pooled["p99"],
        "healthz_p99": max(run["floor"]["latency_ms"]["p99"] for run in runs),
        "idle_cpu": sum(run["idle_cpu"] for run in runs) / len(runs),
        "rounds": [{"idle_cpu": r["idle_cpu"], "latency_ms": r["result"]["latency_ms"]} for r in runs],
    }


if __name__ == "__main__":
    main()
