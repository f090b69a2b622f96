"""Search latency under load against a real `lore serve`, with the HTTP floor measured in the same run.

    python bench/bench_search.py [--duration 30] [--workers 1,2] [--concurrency 16] [--data-dir DIR]

The whole SciFact corpus is ingested once into `--data-dir` (default a cache under bench/results/, reused
by later runs). For each `--workers` value a `lore serve` is started on a free loopback port, and a load
generator in a separate process (bench/loadgen.py) keeps `--concurrency` requests in flight, for `--warmup`
seconds (discarded) and then `--duration` seconds per workload:

- healthz: `GET /healthz`, the reference: what the HTTP stack alone costs under the same load (also run for
  `--floor-seconds` right before each search workload, since the shared machine's load drifts);
- hybrid, vector, keyword: `POST /v1/search` with SciFact queries that the server has not seen before;
- repeated: hybrid over a hot set of `--hot` queries, to show the caches (query embeddings, search results).

"Not seen before" needs more distinct queries than SciFact has, so each query is also sent in variants that
differ only in letter case and in one doubled space: the uncased MiniLM tokenizer and the keyword index read
them as the same query (same work, same results), but they are distinct strings to the caches.
Targets (DESIGN.md §5): p99 < 100 ms with 16 concurrent clients, aim < 25 ms.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchkit import RESULTS, SCIFACT, SCIFACT_DATA, percentiles_ms, ratio, table, write_result
from lore.config import Settings
from lore.evaluation.datasets import load_beir
from lore.service import Lore
from lore_server import Server, lore_serve
from profiling import Profiler

MODES = ("hybrid", "vector", "keyword")
CASES = (str, str.lower, str.upper, str.title, str.capitalize, str.swapcase)
LOADGEN = Path(__file__).with_name("loadgen.py")
SEARCH = "/v1/search"
TARGET_MS, AIM_MS = 100.0, 25.0


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    method: str
    path: str
    bodies: list[Any]
    warmup_bodies: list[Any]


FLOOR = Workload("healthz", "GET", "/healthz", [], [])  # the reference: the HTTP stack alone


# -- queries ----------------------------------------------------------------------------------------------


def variant(query: str, round_: int) -> str | None:
    """Round r of a query: a letter case (r mod 6) and a doubled space at one gap (r div 6; 0: none)."""
    words = query.split()
    gap = round_ // len(CASES)
    if gap >= len(words):
        return None
    joined = " ".join(words[:gap]) + ("  " if gap else "") + " ".join(words[gap:])
    return CASES[round_ % len(CASES)](joined)


def distinct_queries(queries: list[str]) -> Iterator[str]:
    """Every query once, then the next round of variants of each, never the same string twice."""
    seen: set[str] = set()
    longest = max(len(q.split()) for q in queries)
    for round_ in range(longest * len(CASES)):
        for query in queries:
            text = variant(query, round_)
            if text is not None and text not in seen:
                seen.add(text)
                yield text


def take(stream: Iterator[str], count: int) -> list[str]:
    return list(itertools.islice(stream, count))


def search_body(query: str, mode: str, k: int) -> dict[str, Any]:
    return {"query": query, "k": k, "mode": mode}


def workloads(queries: list[str], args: argparse.Namespace) -> list[Workload]:
    """healthz first (the reference), then each mode on queries not sent before, then the hot set."""
    stream = distinct_queries(queries)
    pool, warm = int(args.duration * args.max_rate), int(args.warmup * args.max_rate)

    def searches(texts: list[str], mode: str) -> list[dict[str, Any]]:
        return [search_body(text, mode, args.k) for text in texts]

    items = [FLOOR]
    for mode in args.modes:
        measured, warmup = take(stream, pool), take(stream, warm)
        items.append(Workload(mode, "POST", SEARCH, searches(measured, mode), searches(warmup, mode)))
    hot = searches(queries[: args.hot], "hybrid")
    items.append(Workload("repeated", "POST", SEARCH, hot, searches(take(stream, warm), "hybrid")))
    return items


# -- the corpus -------------------------------------------------------------------------------------------


class Progress:
    """Prints the documents done at most every `every` seconds (add_corpus calls back once per batch)."""

    def __init__(self, every: float = 30.0) -> None:
        self.every = every
        self.due = time.monotonic() + every

    def __call__(self, done: int) -> None:
        if time.monotonic() >= self.due:
            print(f"corpus: {done} docs", flush=True)
            self.due = time.monotonic() + self.every


def ensure_corpus(dataset_dir: Path, data_dir: Path) -> dict[str, Any]:
    """Ingest the whole corpus (a re-run finds it unchanged and embeds nothing)."""
    print(f"corpus: {dataset_dir} -> {data_dir}", flush=True)
    with Lore.open(Settings(data_dir=data_dir)) as lore:
        report = lore.add_corpus(load_beir(dataset_dir).corpus(), on_progress=Progress())
    summary = {
        "docs": report.files,
        "added": report.added,
        "unchanged": report.unchanged,
        "chunks_added": report.chunks,
        "embedded": report.embedded,
        "seconds": round(report.seconds, 2),
    }
    print("corpus: " + ", ".join(f"{k} {v}" for k, v in summary.items()), flush=True)
    return summary


# -- load -------------------------------------------------------------------------------------------------


def load(
    server: Server, workload: Workload, args: argparse.Namespace, duration: float, warmup: float
) -> dict[str, Any]:
    """Run the load generator in its own process and summarise what it measured."""
    spec = {
        "url": server.url,
        "path": workload.path,
        "method": workload.method,
        "bodies": workload.bodies,
        "warmup_bodies": workload.warmup_bodies,
        "concurrency": args.concurrency,
        "duration": duration,
        "warmup": warmup,
        "headers": server.headers,
        "server_time_key": "took_ms" if workload.method == "POST" else None,
    }
    done = subprocess.run(
        [sys.executable, str(LOADGEN)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=warmup + duration + 120,
        check=True,
    )
    raw = json.loads(done.stdout)
    ok = sum(n for status, n in raw["statuses"].items() if status.startswith("2"))
    requests = sum(raw["statuses"].values())
    return {
        "workload": workload.name,
        "requests": requests,
        "errors": requests - ok,
        "throughput": round(requests / raw["elapsed"], 1) if raw["elapsed"] else 0.0,
        "latency_ms": percentiles_ms(raw["latencies"]),
        "server_ms": percentiles_ms([ms / 1000 for ms in raw["server_ms"]]),
        "statuses": raw["statuses"],
        "error_samples": raw["error_samples"],
        "distinct_bodies": len(workload.bodies),
        "elapsed": round(raw["elapsed"], 2),
        "load_average": round(os.getloadavg()[0], 2),
    }


def probe(server: Server, queries: list[str], args: argparse.Namespace) -> None:
    """One search per mode before any load: fail fast, and show that the searches find something."""
    for mode in args.modes:
        response = httpx.post(
            f"{server.url}{SEARCH}",
            json=search_body(queries[0], mode, args.k),
            headers=server.headers,
            timeout=30,
        )
        if response.status_code != 200:
            raise SystemExit(f"{mode} search failed: {response.status_code} {response.text[:500]}")
        body = response.json()
        hits = body.get("hits", body.get("results", body.get("data", [])))
        print(f"  probe {mode:<8} {len(hits)} hits", flush=True)


def run_server(
    data_dir: Path, workers: int, queries: list[str], args: argparse.Namespace
) -> list[dict[str, Any]]:
    results = []
    with lore_serve(data_dir, workers, RESULTS / f"serve-w{workers}.log") as server:
        print(f"lore serve --workers {workers} on {server.url} (pid {server.pid})", flush=True)
        probe(server, queries, args)
        for workload in workloads(queries, args):
            result = measure(server, workload, args)
            results.append(result)
            print_line(result)
    return results


def measure(server: Server, workload: Workload, args: argparse.Namespace) -> dict[str, Any]:
    """A workload, preceded (for searches) by a short healthz run: the floor right before, on this machine
    as loaded at that moment. The shared machine's load drifts within a run; this keeps ratios honest."""
    floor = None
    if workload.name != FLOOR.name and args.floor_seconds > 0:
        floor = load(server, FLOOR, args, args.floor_seconds, warmup=0.5)
    profile = workload.name in args.profile
    with Profiler(server, workload.name, args.duration + args.warmup, enabled=profile) as profiler:
        result = load(server, workload, args, args.duration, args.warmup)
    if profiler.summary:
        result["profile"] = profiler.summary
    if floor:
        result["floor"] = {k: floor[k] for k in ("requests", "throughput", "latency_ms", "load_average")}
    return result


def print_line(result: dict[str, Any]) -> None:
    ms = result["latency_ms"]
    print(
        f"  {result['workload']:<9} {result['requests']:>7} requests  {result['throughput']:>8.1f} req/s  "
        f"p50 {ms['p50']:>7.2f} ms  p99 {ms['p99']:>7.2f} ms  errors {result['errors']}  "
        f"load {result['load_average']}",
        flush=True,
    )


# -- report -----------------------------------------------------------------------------------------------


def report(workers: int, results: list[dict[str, Any]], concurrency: int) -> str:
    reference = next(r for r in results if r["workload"] == FLOOR.name)
    header = ("workload", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms")
    header += ("healthz p99 ms", "p99 ratio", "in-service p50/p99 ms", "load", "target")
    rows = [row(r, r.get("floor", reference)) for r in results]
    title = f"lore serve --workers {workers}, {concurrency} concurrent clients"
    note = "healthz p99: measured right before each workload under the same load; p99 ratio = p99 / that"
    return f"{title}\n{table(header, rows)}\n{note}"


def row(result: dict[str, Any], floor: dict[str, Any]) -> tuple[object, ...]:
    ms, inside, floor_p99 = result["latency_ms"], result.get("server_ms") or {}, floor["latency_ms"]["p99"]
    service = f"{inside['p50']:.2f} / {inside['p99']:.2f}" if inside.get("p99") else "-"
    counts = (result["workload"], result["requests"], result["errors"], result["throughput"])
    latency = (ms["p50"], ms["p90"], ms["p99"], ms["max"])
    loaded = result["load_average"]
    return (*counts, *latency, floor_p99, ratio(ms["p99"], floor_p99), service, loaded, verdict(result))


def verdict(result: dict[str, Any]) -> str:
    if result["workload"] == "healthz":
        return "reference"
    p99 = result["latency_ms"]["p99"]
    return "aim met" if p99 < AIM_MS else "met" if p99 < TARGET_MS else "MISSED"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per workload")
    parser.add_argument("--warmup", type=float, default=3.0, help="discarded seconds before each workload")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--workers", default="1,2", help="comma-separated `lore serve --workers` values")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated search modes")
    parser.add_argument("--k", type=int, default=10, help="hits per search")
    parser.add_argument(
        "--floor-seconds",
        type=float,
        default=5.0,
        help="healthz seconds right before each search workload (0: only the first)",
    )
    parser.add_argument("--hot", type=int, default=32, help="distinct queries of the repeated workload")
    parser.add_argument(
        "--max-rate",
        type=float,
        default=600.0,
        help="req/s the distinct-query pools are sized for (beyond it, queries repeat)",
    )
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="BEIR-layout data set")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=SCIFACT_DATA,
        help="Lore data dir holding the ingested corpus (reused across runs)",
    )
    parser.add_argument("--profile", default="", help="workloads to sample with py-spy, e.g. hybrid,keyword")
    args = parser.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    args.modes = [m for m in args.modes.split(",") if m]
    args.profile = [w for w in args.profile.split(",") if w]
    return args


def all_queries(dataset_dir: Path) -> list[str]:
    """Every query text of the set (not only the judged ones): more distinct queries, same distribution."""
    with (dataset_dir / "queries.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines if line.strip()]


def main() -> None:
    args = parse_args()
    corpus = ensure_corpus(args.dataset, args.data_dir)
    queries = all_queries(args.dataset)
    runs = {}
    for workers in args.workers:
        runs[workers] = run_server(args.data_dir, workers, queries, args)
    for workers, results in runs.items():
        print("\n" + report(workers, results, args.concurrency))
    settings = dict(vars(args))
    path = write_result(
        "search",
        {"settings": settings, "corpus": corpus, "runs": {f"workers={w}": r for w, r in runs.items()}},
    )
    print(f"\nresults: {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
