"""The pieces of `make load` (bench/load/) that work without Locust: the request mix names only routes the app
has, with scopes its keys hold; the locustfile performs every task of the mix; and the report reads Locust's
CSV statistics and judges the steps as docs/operations.md says."""

from __future__ import annotations

import ast
import csv
import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lore.api.permissions import ROUTE_SCOPES
from lore.security.scopes import Scope

LOAD = Path(__file__).resolve().parents[2] / "bench" / "load"
STATS_COLUMNS = [
    "Type",
    "Name",
    "Request Count",
    "Failure Count",
    "Median Response Time",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Average Content Size",
    "Requests/s",
    "Failures/s",
    "50%",
    "66%",
    "75%",
    "80%",
    "90%",
    "95%",
    "98%",
    "99%",
    "99.9%",
    "99.99%",
    "100%",
]
FAILURE_COLUMNS = ["Method", "Name", "Error", "Occurrences", "First Seen", "Last Seen"]


@pytest.fixture(scope="module")
def bench() -> tuple[ModuleType, ModuleType]:
    """bench/load's `mix` and `report`, imported as the harness imports them (its folder on the path)."""
    sys.path.insert(0, str(LOAD))
    try:
        return importlib.import_module("mix"), importlib.import_module("report")
    finally:
        sys.path.remove(str(LOAD))


def test_the_mix_names_only_routes_of_the_app_that_its_keys_may_call(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    mix, _report = bench
    assert set(mix.WEIGHTS) <= set(mix.ROUTES)
    assert all(weight > 0 for weight in mix.WEIGHTS.values())
    for name, route in mix.ROUTES.items():
        assert route in ROUTE_SCOPES, name
        assert ROUTE_SCOPES[route] in {Scope(scope) for scope in mix.SCOPES}, route


def test_the_locustfile_performs_every_task_of_the_mix_and_names_its_requests_from_it(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    mix, _report = bench
    tree = ast.parse((LOAD / "locustfile.py").read_text())
    user = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "LoreUser")
    methods = {node.name for node in user.body if isinstance(node, ast.FunctionDef)}
    assert {mix.handler(task) for task in mix.WEIGHTS} <= methods
    strings = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    named = {name for name in mix.ROUTES if name in strings or name.startswith("search ")}  # f"search {mode}"
    assert named == set(mix.ROUTES)


def write_step(
    folder: Path, users: int, rows: list[tuple[str, int, int, int]], failures: list[list[str]]
) -> Path:
    """A Locust-format `step-N_stats.csv` (name, requests, failures, p99 ms per row, plus Aggregated) and
    `step-N_failures.csv`."""
    prefix = folder / f"step-{users}"
    with Path(f"{prefix}_stats.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(STATS_COLUMNS)
        total = ("Aggregated", sum(r[1] for r in rows), sum(r[2] for r in rows), max(r[3] for r in rows))
        for name, requests, failed, p99 in [*rows, total]:
            method = "" if name == "Aggregated" else "POST"
            times = [p99 // 4, 1.5, 1.0, p99, 100, requests / 10, 0.0]  # median, mean, min, max, size, per s
            percentiles = [p99 // 4, p99 // 3, p99 // 2, p99 // 2, p99 // 2, p99, p99, p99, p99, p99, p99]
            writer.writerow([method, name, requests, failed, *times, *percentiles])
    with Path(f"{prefix}_failures.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(FAILURE_COLUMNS)
        writer.writerows([["POST", name, error, count, "1", "2"] for name, error, count in failures])
    return prefix


def test_the_report_reads_locust_csv_and_finds_the_sustainable_load_and_the_failure_mode(
    bench: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    _mix, report = bench
    calm = write_step(tmp_path, 8, [("search hybrid", 2000, 0, 40), ("upload", 100, 0, 90)], [])
    shed = write_step(
        tmp_path,
        64,
        [("search hybrid", 4000, 0, 400), ("upload", 300, 0, 300), ("upload (shed)", 200, 0, 2)],
        [],
    )
    steps = [report.read_step(calm, 8, 10.0), report.read_step(shed, 64, 10.0)]
    assert (steps[1].requests, steps[1].shed, steps[1].failed) == (4500, 200, 0)
    assert steps[1].routes[0].p99 == 400
    judged = report.verdict(steps)
    assert (judged.sustainable, judged.only_shed) == (8, True)

    failing = write_step(
        tmp_path,
        400,
        [("search hybrid", 1000, 3, 30000), ("ask", 500, 2, 30000)],
        [
            ["search hybrid", "CatchResponseError('HTTP 500: internal')", "3"],
            ["ask", "CatchResponseError(\"ConnectionTimeout('timed out')\")", "2"],
        ],
    )
    steps.append(report.read_step(failing, 400, 10.0))
    assert steps[2].failure_kinds() == {"HTTP 5xx": 3, "timeout": 2}
    judged = report.verdict(steps)
    assert (judged.sustainable, judged.only_shed) == (8, False)
    text = report.markdown(steps, {"cores": 2}, ["a note"])
    assert "| 64 | 10 | 4500 | 450.0 | 0 | 0.00% | 200 | 4.44% |" in text
    assert "**8 users**" in text and "3 HTTP 5xx, 2 timeout" in text
    assert "| 400 | ask | timeout | 2 |" in text and "| 400 | search hybrid | HTTP 5xx | 3 |" in text
    assert "| upload | `POST /v1/documents` | 22 / 90 / 90 | 75 / 300 / 300 (200 shed) | - |" in text
