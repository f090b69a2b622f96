"""What every benchmark here shares: where results go, percentiles, plain tables, and the run's context.

The machine is shared, so absolute times drift from run to run: each benchmark measures a reference in the
same run and prints ratios against it next to the raw figures.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from lore.evaluation.machine import cpu_flags

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SCIFACT_DATA = RESULTS / "cache" / "scifact"  # SciFact ingested once, shared by the serving benchmarks
SCIFACT = Path(os.environ.get("LORE_BENCH_DATA", ROOT.parent / "shared" / "data")) / "scifact"
Row = Sequence[object]


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max of latencies given in seconds, in milliseconds."""
    if not seconds:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    ms = np.asarray(seconds) * 1000.0
    values = np.percentile(ms, [50, 90, 99])
    return {
        "p50": round(float(values[0]), 2),
        "p90": round(float(values[1]), 2),
        "p99": round(float(values[2]), 2),
        "max": round(float(ms.max()), 2),
    }


def ratio(value: float, reference: float) -> float:
    return round(value / reference, 2) if reference else float("nan")


def table(header: Row, rows: Sequence[Row]) -> str:
    """A plain, right-aligned text table (first column left-aligned)."""
    cells = [[_cell(v) for v in header], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        return "  ".join([first, *(v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True))])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def usable_cores() -> int:
    """The cores this run may use: fewer than the machine's when it is pinned (`taskset`)."""
    return len(os.sched_getaffinity(0))


def context() -> dict[str, Any]:
    """Enough about the run to compare result files later."""
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": _git_revision(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "usable_cores": usable_cores(),
        "cpu_flags": cpu_flags(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Keep a JSON record under bench/results/ (git-ignored), stamped with the run's context."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(
        json.dumps({"benchmark": name, "context": context(), **payload}, indent=2, default=str) + "\n"
    )
    return path


@contextmanager
def embedded_postgres(scratch: Path, databases: int = 1) -> Iterator[list[str]]:
    """URLs of empty databases (pgvector enabled, not migrated) on the test suite's throwaway PostgreSQL
    server, started for the run and stopped afterwards."""
    sys.path.insert(0, str(ROOT))
    from tests.pgserver import PostgresServer

    server = PostgresServer(scratch / "postgres")
    try:
        server.start()
        yield [server.create_database(migrated=False) for _ in range(databases)]
    finally:
        server.stop()
