"""Every benchmark, one after another, with modest defaults (what `make bench` runs).

    python bench/run_all.py [--full] [--only ingest,search]

Each benchmark runs in its own process (so one's threads and caches never colour the next one's figures)
with its output shown as it comes. Benchmarks whose file is not there are reported as skipped. `--full` runs
each one with its own defaults instead of the shorter settings below.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
MODEST: dict[str, list[str]] = {
    "embed": [],
    "vector": [],
    "ingest": ["--docs", "200"],
    "search": ["--duration", "10", "--warmup", "2"],
    "efficiency": ["--duration", "10", "--warmup", "2", "--searches", "150", "--idle-seconds", "5"],
    "openloop": ["--duration", "10", "--capacity-seconds", "8", "--unloaded", "80"],
    "backends": ["--docs", "300", "--queries", "100"],
    "stages": ["--stand-in", "--queries", "100", "--warmup", "30"],
    "conversations": [],
    "hostile": ["--alone", "6", "--bound", "45"],
    "cli_startup": ["--runs", "3"],
    "scale": ["--sizes", "10k,100k", "--queries", "200"],
}


def run(name: str, extra: list[str]) -> tuple[str, str, float]:
    script = BENCH / f"bench_{name}.py"
    if not script.exists():
        print(f"== {name}: skipped ({script.name} is not there)\n", flush=True)
        return name, "skipped", 0.0
    print(f"== {name}: {' '.join([script.name, *extra])}", flush=True)
    start = time.perf_counter()
    code = subprocess.run([sys.executable, str(script), *extra], cwd=BENCH.parent).returncode
    seconds = time.perf_counter() - start
    status = "ok" if code == 0 else f"failed (exit {code})"
    print(f"== {name}: {status} in {seconds:.0f} s\n", flush=True)
    return name, status, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="each benchmark with its own defaults")
    parser.add_argument("--only", default=",".join(MODEST), help="subset of: " + ", ".join(MODEST))
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - MODEST.keys())
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(unknown)}")
    outcomes = [run(name, [] if args.full else MODEST[name]) for name in names]
    for name, status, seconds in outcomes:
        print(f"{name:<8} {status:<20} {seconds:6.0f} s")
    sys.exit(0 if all(s in ("ok", "skipped") for _, s, _ in outcomes) else 1)


if __name__ == "__main__":
    main()
