"""Interactive search latency during a bulk upload flood, with and without load shedding, against a real
`lore serve`.

    python bench/bench_shedding.py [--duration 6] [--concurrency 2] [--flood 4] [--threshold 2] [--docs 300]

The first `--docs` SciFact documents are ingested once into a cached data dir; each server runs on a fresh
copy of it (so flood documents are always new, never an unchanged re-upload). For each server, a load generator
(bench/loadgen.py, its own process) keeps `--concurrency` searches in flight on queries the server has not seen:
first alone (the reference), then while a second load generator floods `POST /v1/documents` with `--flood`
clients uploading new SciFact abstracts.

- no shedding: `LORE_SHED_INFLIGHT=0`, every upload is admitted;
- shedding: `LORE_SHED_INFLIGHT=--threshold`, uploads are refused with 503 while that many requests are in
  flight; measured with a flood whose clients wait the `Retry-After` they are given, and with one that ignores
  it and retries at once (what refusing costs the server).

Reported: search p50/p99 alone and during each flood, the ratio p99 during / p99 alone, and the uploads the
flood got through per second. Aim: with shedding, the ratio stays near 1 while without it grows.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from benchkit import RESULTS, SCIFACT, cpu_flags, percentiles_ms, ratio, table, write_result
from lore.config import Settings
from lore.evaluation.datasets import load_beir
from lore.service import Lore
from lore_server import Server, lore_serve

LOADGEN = Path(__file__).with_name("loadgen.py")
CASES = (str, str.lower, str.upper, str.title, str.capitalize, str.swapcase)


def search_bodies(dataset: Path, count: int) -> Iterator[dict[str, Any]]:
    """SciFact queries, then the same in other letter cases: distinct strings to the caches, same work."""
    with (dataset / "queries.jsonl").open(encoding="utf-8") as lines:
        queries = [json.loads(line)["text"] for line in lines if line.strip()]
    texts = (case(query) for case in CASES for query in queries)
    return ({"query": text, "k": 10, "mode": "hybrid"} for text in itertools.islice(texts, count))


def ensure_corpus(dataset: Path, data_dir: Path, docs: int) -> None:
    """The first `docs` documents of the set, ingested once (a marker says the cached copy is whole)."""
    marker = data_dir / "bench-corpus.json"
    if marker.exists():
        print(f"corpus: {json.loads(marker.read_text())['docs']} docs in {data_dir} (cached)", flush=True)
        return
    corpus = itertools.islice(load_beir(dataset).corpus(), docs)
    with Lore.open(Settings(data_dir=data_dir)) as lore:
        report = lore.add_corpus(corpus)
    marker.write_text(json.dumps({"docs": report.files, "dataset": str(dataset)}))
    print(f"corpus: {report.files} docs ({report.added} added) in {data_dir}", flush=True)


def flood_pools(dataset: Path, skip: int, pools: int, size: int) -> list[list[dict[str, Any]]]:
    """`pools` disjoint lists of upload bodies from the documents after the first `skip`."""
    records = list(itertools.islice(load_beir(dataset).corpus(), skip, skip + pools * size))
    bodies = [{"title": doc.title, "text": doc.text, "source": f"flood:{doc.id}"} for doc in records]
    return [bodies[i * size : (i + 1) * size] for i in range(pools)]


def start_loadgen(spec: dict[str, Any]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(LOADGEN)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(spec))
    process.stdin.close()
    return process


def finish_loadgen(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    assert process.stdout is not None
    out = process.stdout.read()
    process.wait(timeout)
    if process.returncode:
        raise RuntimeError(f"loadgen failed with {process.returncode}")
    raw: dict[str, Any] = json.loads(out)
    return raw


def search_spec(server: Server, bodies: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    return {
        "url": server.url,
        "path": "/v1/search",
        "bodies": bodies,
        "warmup_bodies": bodies[-50:],
        "concurrency": args.concurrency,
        "duration": args.duration,
        "warmup": args.warmup,
        "headers": server.headers,
        "server_time_key": "took_ms",
    }


def flood_spec(
    server: Server, bodies: list[dict[str, Any]], honours: bool, args: argparse.Namespace
) -> dict[str, Any]:
    return {
        "url": server.url,
        "path": "/v1/documents",
        "bodies": bodies,
        "concurrency": args.flood,
        "duration": args.warmup + args.duration + 0.5,
        "warmup": 0.0,
        "headers": server.headers,
        "retry_after_cap": 5.0 if honours else None,
        "max_requests": 1_000_000 if not honours else len(bodies),
    }


def summary(raw: dict[str, Any]) -> dict[str, Any]:
    ok = sum(n for status, n in raw["statuses"].items() if status.startswith("2"))
    return {
        "requests": sum(raw["statuses"].values()),
        "ok": ok,
        "ok_per_second": round(ok / raw["elapsed"], 1) if raw["elapsed"] else 0.0,
        "statuses": raw["statuses"],
        "latency_ms": percentiles_ms(raw["latencies"]),
        "server_ms": percentiles_ms([ms / 1000 for ms in raw["server_ms"]]),
        "error_samples": raw["error_samples"][:2],
    }


def searches(server: Server, bodies: Iterator[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    pool = list(itertools.islice(bodies, int(args.duration * 400) + 50))
    process = start_loadgen(search_spec(server, pool, args))
    return summary(finish_loadgen(process, args.duration + args.warmup + 60))


def during_flood(
    server: Server,
    bodies: Iterator[dict[str, Any]],
    uploads: list[dict[str, Any]],
    honours: bool,
    args: argparse.Namespace,
) -> dict[str, Any]:
    flood = start_loadgen(flood_spec(server, uploads, honours, args))
    measured = searches(server, bodies, args)
    flooded = summary(finish_loadgen(flood, args.duration + args.warmup + 120))
    return {"search": measured, "flood": flooded}


def run_server(
    name: str, base: Path, env: dict[str, str], floods: list[tuple[str, bool]], args: argparse.Namespace
) -> dict[str, Any]:
    """One server on a fresh copy of the corpus: searches alone, then during each flood."""
    bodies = search_bodies(args.dataset, 1_000_000)
    pools = iter(flood_pools(args.dataset, args.docs, len(floods), args.pool))
    with tempfile.TemporaryDirectory(dir=RESULTS) as scratch:
        data_dir = Path(scratch) / "data"
        shutil.copytree(base, data_dir)
        with lore_serve(data_dir, 1, RESULTS / f"serve-shedding-{name}.log", env=env) as server:
            probe(server)
            result: dict[str, Any] = {"env": env, "alone": searches(server, bodies, args)}
            print_line(name, "alone", result["alone"], None)
            for flood_name, honours in floods:
                result[flood_name] = during_flood(server, bodies, next(pools), honours, args)
                print_line(name, flood_name, result[flood_name]["search"], result[flood_name]["flood"])
    return result


def probe(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/v1/search", json={"query": "cells", "k": 10}, headers=server.headers, timeout=60
    )
    if response.status_code != 200 or not response.json()["hits"]:
        raise SystemExit(f"search probe failed: {response.status_code} {response.text[:300]}")


def print_line(server: str, phase: str, search: dict[str, Any], flood: dict[str, Any] | None) -> None:
    ms = search["latency_ms"]
    uploads = f"  uploads {flood['ok_per_second']:.1f}/s ok, statuses {flood['statuses']}" if flood else ""
    print(
        f"  {server:<12} {phase:<16} search p50 {ms['p50']:>7.2f} ms  p99 {ms['p99']:>7.2f} ms{uploads}",
        flush=True,
    )


def report(runs: dict[str, dict[str, Any]]) -> str:
    header = (
        "server",
        "flood",
        "searches",
        "p50 ms",
        "p99 ms",
        "p99 alone ms",
        "p99 ratio",
        "uploads ok/s",
        "uploads refused",
    )
    rows = []
    for server, result in runs.items():
        alone = result["alone"]["latency_ms"]["p99"]
        for phase, measured in result.items():
            if phase in ("env", "alone"):
                continue
            search, flood = measured["search"], measured["flood"]
            refused = sum(n for status, n in flood["statuses"].items() if status in ("429", "503"))
            ms = search["latency_ms"]
            rows.append(
                (
                    server,
                    phase,
                    search["requests"],
                    ms["p50"],
                    ms["p99"],
                    alone,
                    ratio(ms["p99"], alone),
                    flood["ok_per_second"],
                    refused,
                )
            )
    return table(header, rows)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=6.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=1.0, help="discarded seconds before each phase")
    parser.add_argument("--concurrency", type=int, default=2, help="searches in flight")
    parser.add_argument("--flood", type=int, default=4, help="upload clients in the flood")
    parser.add_argument("--threshold", type=int, default=2, help="LORE_SHED_INFLIGHT of the shedding server")
    parser.add_argument("--docs", type=int, default=300, help="documents in the searched corpus")
    parser.add_argument("--pool", type=int, default=600, help="distinct uploads per flood")
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="BEIR-layout data set")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="cached corpus (default under bench/results)"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(f"cpu flags: {' '.join(cpu_flags()) or 'unknown'} · cpus {os.cpu_count()}", flush=True)
    base = args.data_dir or RESULTS / "cache" / f"shedding-{args.dataset.name}-{args.docs}"
    ensure_corpus(args.dataset, base, args.docs)
    quiet = {"LORE_SHED_QUEUE_DEPTH": "0", "LORE_SHED_RETRY_AFTER": "1"}
    runs = {
        "no-shedding": run_server(
            "no-shedding", base, {**quiet, "LORE_SHED_INFLIGHT": "0"}, [("flood", True)], args
        ),
        "shedding": run_server(
            "shedding",
            base,
            {**quiet, "LORE_SHED_INFLIGHT": str(args.threshold)},
            [("flood", True), ("flood-no-wait", False)],
            args,
        ),
    }
    print("\n" + report(runs))
    print(f"cpu flags: {' '.join(cpu_flags()) or 'unknown'}")
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    path = write_result("shedding", {"settings": settings, "runs": runs})
    print(f"results: {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
