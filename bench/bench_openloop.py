"""Latency at a sane load: cold hybrid searches arriving open loop (Poisson) at fractions of measured capacity.

    python bench/bench_openloop.py [--duration 20] [--workers 2] [--fractions 0.25,0.5,0.75,0.9]

Against one real `lore serve --workers W`, in one run, every query one the server has not seen:

1. unloaded: `--unloaded` searches one at a time on one connection (bench/loadgen.py): the reference p50;
2. capacity: `wrk` with `--concurrency` connections for `--capacity-seconds` (closed loop): searches per second;
3. for each fraction: requests arriving at fraction x capacity per second with exponential gaps for
   `--duration` seconds (bench/poisson.py), each latency counted from when the request was due.

Printed per load: p50/p90/p99/max, p99 / unloaded p50, the server's CPU per search (its process tree, /proc)
and the generator's own CPU. Target: p99 <= 4 x unloaded p50 at 50% of capacity. Wall-clock figures move with
whatever else the machine runs (the load average is printed); CPU per search much less.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench_search import SEARCH, all_queries, distinct_queries, ensure_corpus, search_body, take
from benchkit import (
    RESULTS,
    SCIFACT,
    SCIFACT_DATA,
    context,
    percentiles_ms,
    ratio,
    table,
    usable_cores,
    write_result,
)
from lore_server import Server, lore_serve
from serverload import children_cpu_seconds, run_wrk, tree_cpu_seconds, wrk_available

BENCH = Path(__file__).resolve().parent
MODE = "hybrid"
TARGET_FRACTION, TARGET_RATIO = 0.5, 4.0


def generator(script: str, spec: dict[str, Any], timeout: float) -> tuple[dict[str, Any], float]:
    """Run a generator process on `spec`; what it printed and the CPU seconds it spent."""
    before = children_cpu_seconds()
    done = subprocess.run(
        [sys.executable, str(BENCH / script)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return json.loads(done.stdout), children_cpu_seconds() - before


def bodies(stream: Iterator[str], count: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    return [search_body(text, MODE, args.k) for text in take(stream, count)]


def unloaded(server: Server, stream: Iterator[str], args: argparse.Namespace) -> dict[str, Any]:
    spec = {
        "url": server.url,
        "path": SEARCH,
        "bodies": bodies(stream, args.unloaded, args),
        "warmup_bodies": bodies(stream, 10, args),
        "concurrency": 1,
        "duration": 600.0,
        "warmup": 1.0,
        "max_requests": args.unloaded,
        "headers": server.headers,
    }
    raw, _cpu = generator("loadgen.py", spec, 900)
    return {"requests": len(raw["latencies"]), "latency_ms": percentiles_ms(raw["latencies"])}


def capacity(server: Server, stream: Iterator[str], args: argparse.Namespace) -> dict[str, Any]:
    """Closed-loop searches per second with `--concurrency` connections (a discarded warm-up first)."""
    common = {"server_pid": server.pid, "key": server.key, "concurrency": args.concurrency}
    run_wrk(server.url, SEARCH, bodies(stream, 400, args), seconds=3, **common)  # type: ignore[arg-type]
    pool = bodies(stream, int(args.capacity_seconds * args.max_rate), args)
    run = run_wrk(server.url, SEARCH, pool, seconds=args.capacity_seconds, **common)  # type: ignore[arg-type]
    return {
        "requests": run.requests,
        "errors": run.errors,
        "throughput": round(run.throughput, 1),
        "latency_ms": dict(run.latency_ms),
        "server_cpu_ms": 1000 * run.server_cpu / max(run.requests, 1),
    }


def at_rate(server: Server, stream: Iterator[str], rate: float, args: argparse.Namespace) -> dict[str, Any]:
    spec = {
        "url": server.url,
        "path": SEARCH,
        "rate": rate,
        "bodies": bodies(stream, int(1.3 * rate * args.duration) + 20, args),
        "duration": args.duration,
        "headers": server.headers,
    }
    server_before = tree_cpu_seconds(server.pid)
    raw, process_cpu = generator("poisson.py", spec, args.duration + 300)
    generator_cpu = raw["cpu_seconds"]
    server_cpu = tree_cpu_seconds(server.pid) - server_before
    sent = max(raw["sent"], 1)
    ok = sum(n for status, n in raw["statuses"].items() if status.startswith("2"))
    return {
        "rate": round(rate, 1),
        "sent": raw["sent"],
        "errors": raw["sent"] - ok,
        "achieved": round(raw["sent"] / raw["elapsed"], 1),
        "latency_ms": percentiles_ms(raw["latencies"]),
        "late_p99_ms": round(raw["late_p99_ms"], 2),
        "server_cpu_ms": 1000 * server_cpu / sent,
        "generator_cpu_ms": 1000 * generator_cpu / sent,
        "generator_core_share": generator_cpu / raw["elapsed"] if raw["elapsed"] else 0.0,
        "generator_process_cpu_s": round(process_cpu, 3),  # its start-up (imports) included
        "load_average": round(os.getloadavg()[0], 2),
        "error_samples": raw["error_samples"],
    }


def report(reference: dict[str, Any], cap: dict[str, Any], loads: list[dict[str, Any]]) -> str:
    p50 = reference["latency_ms"]["p50"]
    header = ("load", "req/s", "sent", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms", "p99 / unloaded p50")
    header += ("server CPU ms/req", "generator CPU ms/req", "generator core", "load avg", "target")
    rows = [_row(load, p50) for load in loads]
    head = (
        f"unloaded (one at a time): p50 {p50:.2f} ms, p99 {reference['latency_ms']['p99']:.2f} ms over "
        f"{reference['requests']} searches; capacity (wrk, closed loop): {cap['throughput']:.1f} searches/s, "
        f"{cap['server_cpu_ms']:.2f} ms server CPU each"
    )
    return f"{head}\n{table(header, rows)}"


def _row(load: dict[str, Any], unloaded_p50: float) -> tuple[object, ...]:
    ms = load["latency_ms"]
    tail = ratio(ms["p99"], unloaded_p50)
    verdict = "-"
    if load["fraction"] == TARGET_FRACTION:
        verdict = "met" if tail <= TARGET_RATIO else "MISSED"
    counts = (f"{load['fraction']:.0%}", load["rate"], load["sent"], load["errors"])
    cpu = (round(load["server_cpu_ms"], 2), round(load["generator_cpu_ms"], 3))
    share = round(load["generator_core_share"], 3)
    return (
        *counts,
        ms["p50"],
        ms["p90"],
        ms["p99"],
        ms["max"],
        tail,
        *cpu,
        share,
        load["load_average"],
        verdict,
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of arrivals per load")
    parser.add_argument("--fractions", default="0.25,0.5,0.75,0.9", help="loads, as fractions of capacity")
    parser.add_argument("--workers", type=int, default=2, help="`lore serve --workers`")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections measuring capacity")
    parser.add_argument("--capacity-seconds", type=float, default=15.0, help="seconds measuring capacity")
    parser.add_argument("--unloaded", type=int, default=150, help="searches one at a time (the reference)")
    parser.add_argument(
        "--max-rate", type=float, default=400.0, help="searches/s the capacity pool is sized for"
    )
    parser.add_argument("--k", type=int, default=10, help="hits per search")
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="BEIR-layout data set")
    parser.add_argument("--data-dir", type=Path, default=SCIFACT_DATA, help="Lore data dir")
    args = parser.parse_args()
    args.fractions = [float(f) for f in args.fractions.split(",") if f]
    return args


def main() -> None:
    args = parse_args()
    if not wrk_available():
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does)")
    cores = usable_cores()
    print(f"cpu flags: {' '.join(context()['cpu_flags'])}; cores: {cores} of {os.cpu_count()}", flush=True)
    corpus = ensure_corpus(args.dataset, args.data_dir)
    stream = distinct_queries(all_queries(args.dataset))
    log = RESULTS / f"serve-openloop-w{args.workers}.log"
    with lore_serve(args.data_dir, args.workers, log) as server:
        print(f"lore serve --workers {args.workers} on {server.url} (pid {server.pid})", flush=True)
        reference = unloaded(server, stream, args)
        print(f"  unloaded p50 {reference['latency_ms']['p50']:.2f} ms", flush=True)
        cap = capacity(server, stream, args)
        print(f"  capacity {cap['throughput']:.1f} searches/s (errors {cap['errors']})", flush=True)
        loads = []
        for fraction in args.fractions:
            load = {"fraction": fraction, **at_rate(server, stream, fraction * cap["throughput"], args)}
            loads.append(load)
            ms = load["latency_ms"]
            print(
                f"  {fraction:.0%}: {load['rate']} req/s  p50 {ms['p50']} ms  p99 {ms['p99']} ms", flush=True
            )
    print(f"\nopen loop, {MODE} searches never seen before, lore serve --workers {args.workers}")
    print(report(reference, cap, loads))
    path = write_result(
        "openloop",
        {"settings": vars(args), "corpus": corpus, "unloaded": reference, "capacity": cap, "loads": loads},
    )
    print(f"\nresults: {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
