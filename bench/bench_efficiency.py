"""How close `lore serve` comes to the search itself, in CPU, measured in one run:

    python bench/bench_efficiency.py [--duration 20] [--workers 2] [--concurrency 16] [--profile keyword]

1. In process, one thread, one search at a time: the CPU time (`time.process_time`, every thread of the
   process, ONNX's included) of `Lore.search` on queries never seen before, per mode, and of the query embedding
   alone (`Lore.embedder.embed_query`) on other never-seen queries: the stages are the difference. Measured
   before and after the server's part, and averaged: the shared machine's load drifts.
2. Against a real `lore serve --workers W` under `--concurrency` clients of `wrk` (a compiled load tool, whose
   own CPU is measured): the CPU the server's process tree spent (utime + stime of it and its workers, read from
   /proc before and after) divided by the requests it answered. Each request is a query never sent before.

efficiency = in-process CPU per search / server CPU per search (1.0: serving adds nothing); overhead = the
difference, in ms: what routing, validation, authentication, throttling, logging, metrics and serialisation
cost per request. The limit is what the cores allow: cores / in-process CPU per search; wall throughput is
printed against it (a shared machine's other work lowers it, the CPU ratios much less). `GET /healthz` under
the same load gives the HTTP stack's own CPU per request. `--profile MODE` runs that mode again under py-spy
(bench/profiling.py) and prints where the server's time went.
Targets: efficiency >= 0.8 in every mode; overhead <= 0.4 ms.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench_search import SEARCH, all_queries, distinct_queries, ensure_corpus, search_body, take
from benchkit import RESULTS, SCIFACT, SCIFACT_DATA, context, ratio, table, usable_cores, write_result
from lore.config import Settings
from lore.core.retrieve import SearchRequest
from lore.service import Lore
from lore_server import Server, lore_serve
from profiling import Profiler
from serverload import WrkRun, run_wrk, tree_cpu_seconds, wrk_available

MODES = ("hybrid", "vector", "keyword")
TENANT = "default"
EFFICIENCY_TARGET, OVERHEAD_TARGET_MS = 0.8, 0.4


# -- in process -----------------------------------------------------------------------------------------------


def cpu_ms_each(calls: Iterator[Any]) -> float:
    """Mean CPU milliseconds of each step of `calls` (a generator doing one call per step)."""
    times = []
    while True:
        start = time.process_time()
        try:
            next(calls)
        except StopIteration:
            break
        times.append(time.process_time() - start)
    return 1000 * sum(times) / len(times) if times else float("nan")


def in_process(
    data_dir: Path, stream: Iterator[str], args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """CPU ms per cold search and per query embedding, one at a time, after a few warm-up searches."""
    with Lore.open(Settings.for_server(data_dir=data_dir)) as lore:  # the server's settings: same search

        def searches(mode: str, count: int) -> Iterator[None]:
            for text in take(stream, count):
                yield lore.search(SearchRequest(TENANT, text, args.k, mode))  # type: ignore[misc]

        def embeddings(count: int) -> Iterator[None]:
            for text in take(stream, count):
                yield lore.embedder.embed_query(text)  # type: ignore[misc]

        for mode in args.modes:
            cpu_ms_each(searches(mode, 10))
        embed = cpu_ms_each(embeddings(args.searches))
        figures = {}
        for mode in args.modes:
            total = cpu_ms_each(searches(mode, args.searches))
            embedded = embed if mode != "keyword" else 0.0
            figures[mode] = {"total": total, "embed": embedded, "stages": total - embedded}
            print(f"  in process {mode:<8} {total:6.2f} ms CPU (embedding {embedded:.2f})", flush=True)
    return figures


def mean_of(first: dict[str, float], second: dict[str, float]) -> dict[str, float]:
    return {name: (first[name] + second[name]) / 2 for name in first}


# -- in the server ----------------------------------------------------------------------------------------------


def under_load(
    server: Server, path: str, warm: list[Any], measured: list[Any], args: argparse.Namespace, seconds: float
) -> WrkRun:
    """A short discarded warm-up on its own bodies, then the measured run."""
    method = "POST" if measured else "GET"
    common = {"server_pid": server.pid, "key": server.key, "concurrency": args.concurrency, "method": method}
    run_wrk(server.url, path, warm, seconds=args.warmup, **common)  # type: ignore[arg-type]
    return run_wrk(server.url, path, measured, seconds=seconds, **common)  # type: ignore[arg-type]


def pool(
    stream: Iterator[str], mode: str, seconds: float, limit: float, args: argparse.Namespace
) -> list[Any]:
    """Never-seen queries enough for `seconds` at a quarter over the limit (wrk sends them in turn)."""
    return [search_body(text, mode, args.k) for text in take(stream, int(1.25 * limit * seconds) + 50)]


def summary(run: WrkRun, distinct: int) -> dict[str, Any]:
    done = max(run.requests, 1)
    return {
        "requests": run.requests,
        "errors": run.errors,
        "distinct_bodies": distinct,
        "repeated": run.requests > distinct > 0,
        "throughput": round(run.throughput, 1),
        "latency_ms": dict(run.latency_ms),
        "server_cpu_ms": 1000 * run.server_cpu / done,
        "generator_cpu_ms": 1000 * run.generator_cpu / done,
        "generator_core_share": run.generator_cpu / run.seconds if run.seconds else 0.0,
        "load_average": round(os.getloadavg()[0], 2),
    }


def served(
    data_dir: Path, stream: Iterator[str], limits: dict[str, float], args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """Each mode at `--concurrency`, after the HTTP floor; then the profiled modes, each for `--profile-seconds`."""
    results = {}
    log = RESULTS / f"serve-efficiency-w{args.workers}.log"
    with lore_serve(data_dir, args.workers, log) as server:
        print(f"lore serve --workers {args.workers} on {server.url} (pid {server.pid})", flush=True)
        results["idle"] = {"cpu_ms_per_s": idle_cpu(server, args.idle_seconds)}
        print(f"  server idle: {results['idle']['cpu_ms_per_s']:.1f} ms CPU per second", flush=True)
        results["healthz"] = summary(under_load(server, "/healthz", [], [], args, args.duration), 0)
        print_line("healthz", results["healthz"])
        for mode in args.modes:
            warm = pool(stream, mode, args.warmup, limits[mode], args)
            measured = pool(stream, mode, args.duration, limits[mode], args)
            results[mode] = summary(
                under_load(server, SEARCH, warm, measured, args, args.duration), len(measured)
            )
            print_line(mode, results[mode])
        for mode in args.profile:
            warm = pool(stream, mode, args.warmup, limits[mode], args)
            measured = pool(stream, mode, args.profile_seconds, limits[mode], args)
            seconds = args.warmup + args.profile_seconds
            with Profiler(server, f"efficiency-{mode}", seconds, enabled=True) as profiler:
                under_load(server, SEARCH, warm, measured, args, args.profile_seconds)
            results[f"profile-{mode}"] = profiler.summary or {}
    return results


def idle_cpu(server: Server, seconds: float) -> float:
    """CPU ms per second the server's tree spends with no request (its polling threads), after a settle."""
    time.sleep(2.0)
    before, start = tree_cpu_seconds(server.pid), time.monotonic()
    time.sleep(seconds)
    return 1000 * (tree_cpu_seconds(server.pid) - before) / (time.monotonic() - start)


def print_line(name: str, result: dict[str, Any]) -> None:
    print(
        f"  server {name:<8} {result['requests']:>7} requests  {result['throughput']:>7.1f} req/s  "
        f"{result['server_cpu_ms']:6.2f} ms server CPU/req  wrk {result['generator_cpu_ms']:.3f} ms/req  "
        f"p99 {result['latency_ms']['p99']:.1f} ms  errors {result['errors']}",
        flush=True,
    )


# -- report -----------------------------------------------------------------------------------------------------


def report(local: dict[str, dict[str, float]], remote: dict[str, dict[str, Any]], cores: int) -> str:
    header = ("mode", "embed ms", "stages ms", "in-process ms", "server ms", "efficiency", "overhead ms")
    header += (
        "req/s",
        "limit req/s",
        "of limit",
        "server cores",
        "p50 ms",
        "p99 ms",
        "wrk ms/req",
        "wrk core",
    )
    header += ("target",)
    rows = [_row(mode, local[mode], remote[mode], cores) for mode in local]
    floor = remote["healthz"]
    latency = (floor["latency_ms"]["p50"], floor["latency_ms"]["p99"])
    generator = (round(floor["generator_cpu_ms"], 4), round(floor["generator_core_share"], 2))
    server = round(floor["server_cpu_ms"], 3)
    cores_used = round(floor["throughput"] * floor["server_cpu_ms"] / 1000, 2)
    rows.append(("healthz", "-", "-", "-", server, "-", "-", floor["throughput"], "-", "-", cores_used))
    rows[-1] += (*latency, *generator, "reference")
    idle = remote["idle"]["cpu_ms_per_s"]
    notes = (
        f"idle server tree: {idle:.1f} ms CPU per second (its share of a request: that / req/s)\n"
        "CPU per search in ms; efficiency = in-process / server; overhead = server - in-process; "
        f"limit = {cores} cores / in-process CPU; server cores: the CPU the server's tree got (req/s x server "
        "CPU per request; below the cores, the machine's other work took the rest); wrk: the load generator's "
        "own CPU per request and its share of one core"
    )
    return f"{table(header, rows)}\n{notes}"


def _row(mode: str, local: dict[str, float], remote: dict[str, Any], cores: int) -> tuple[object, ...]:
    inside, server = local["total"], remote["server_cpu_ms"]
    efficiency = ratio(inside, server)
    overhead = server - inside
    limit = 1000 * cores / inside
    met = efficiency >= EFFICIENCY_TARGET and overhead <= OVERHEAD_TARGET_MS
    figures = (round(local["embed"], 2), round(local["stages"], 2), round(inside, 2), round(server, 2))
    cores_used = round(remote["throughput"] * server / 1000, 2)  # of the machine's cores, what the server got
    load = (remote["throughput"], round(limit, 1), ratio(remote["throughput"], limit), cores_used)
    latency = (remote["latency_ms"]["p50"], remote["latency_ms"]["p99"])
    generator = (round(remote["generator_cpu_ms"], 4), round(remote["generator_core_share"], 2))
    verdict = ("met" if met else "MISSED") + (" (queries repeated)" if remote["repeated"] else "")
    return (mode, *figures, efficiency, round(overhead, 2), *load, *latency, *generator, verdict)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--duration", type=float, default=20.0, help="measured seconds per mode in the server"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="discarded seconds before each")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="`lore serve --workers`")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated search modes")
    parser.add_argument("--k", type=int, default=10, help="hits per search")
    parser.add_argument("--searches", type=int, default=300, help="in-process searches per mode")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="seconds measuring the idle server")
    parser.add_argument("--profile-seconds", type=float, default=10.0, help="seconds of each profiled mode")
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="BEIR-layout data set")
    parser.add_argument("--data-dir", type=Path, default=SCIFACT_DATA, help="Lore data dir")
    parser.add_argument("--profile", default="", help="modes to run again under py-spy, e.g. keyword")
    args = parser.parse_args()
    args.modes = [m for m in args.modes.split(",") if m]
    args.profile = [m for m in args.profile.split(",") if m]
    return args


def main() -> None:
    args = parse_args()
    if not wrk_available():
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does)")
    cores = usable_cores()
    print(f"cpu flags: {' '.join(context()['cpu_flags'])}; cores: {cores} of {os.cpu_count()}", flush=True)
    corpus = ensure_corpus(args.dataset, args.data_dir)
    stream = distinct_queries(all_queries(args.dataset))  # one stream: no query is sent twice in the run
    before = in_process(args.data_dir, stream, args)
    limits = {mode: 1000 * cores / figures["total"] for mode, figures in before.items()}
    remote = served(args.data_dir, stream, limits, args)
    after = in_process(args.data_dir, stream, args)  # again: the shared machine's load drifts meanwhile
    local = {mode: mean_of(before[mode], after[mode]) for mode in before}
    print(f"\nlore serve --workers {args.workers}, {args.concurrency} wrk connections, never-seen queries")
    print(report(local, remote, cores))
    settings = dict(vars(args))
    runs = {"before": before, "after": after, "mean": local}
    path = write_result(
        "efficiency", {"settings": settings, "corpus": corpus, "in_process": runs, "server": remote}
    )
    print(f"\nresults: {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
