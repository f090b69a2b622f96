"""The load test's figures: Locust's CSV statistics of each step read back, judged, and written as Markdown.
Standard library only, so that the harness, and tests without Locust, use it alike."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mix import ROUTES, SHED

ERROR_BUDGET = 0.001  # a step is sustainable when under 0.1% of its requests were not served
AGGREGATED = "Aggregated"
HTTP_STATUS = re.compile(r"HTTP ([1-5])\d\d")


@dataclass(frozen=True, slots=True)
class RouteStats:
    """One row of Locust's `*_stats.csv`: a request name's count, failures and latency (ms)."""

    name: str
    requests: int
    failures: int
    per_second: float
    p50: float
    p95: float
    p99: float

    @property
    def shed(self) -> bool:
        return self.name.endswith(SHED)


@dataclass(frozen=True, slots=True)
class Failure:
    """One row of Locust's `*_failures.csv`."""

    name: str
    error: str
    occurrences: int

    @property
    def kind(self) -> str:
        """timeout, connection, HTTP 5xx, HTTP 4xx, or other: the kinds the verdict is about."""
        status = HTTP_STATUS.search(self.error)  # the locustfile's failure message for a response
        if status:
            return f"HTTP {status.group(1)}xx"
        error = self.error.lower()
        if "timeout" in error or "timed out" in error:
            return "timeout"
        if "connection" in error or "refused" in error or "reset" in error:
            return "connection"
        return "other"


@dataclass(frozen=True, slots=True)
class Step:
    """One bounded Locust run at a fixed number of users."""

    users: int
    seconds: float
    routes: tuple[RouteStats, ...]
    total: RouteStats
    failures: tuple[Failure, ...]

    @property
    def requests(self) -> int:
        return self.total.requests

    @property
    def shed(self) -> int:
        return sum(row.requests for row in self.routes if row.shed)

    @property
    def failed(self) -> int:
        return self.total.failures

    def rate(self, count: int) -> float:
        return count / self.requests if self.requests else 0.0

    @property
    def served_all(self) -> bool:
        """Under the error budget of failures and shed requests together."""
        return self.requests > 0 and self.rate(self.failed + self.shed) < ERROR_BUDGET

    def failure_kinds(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for failure in self.failures:
            kinds[failure.kind] = kinds.get(failure.kind, 0) + failure.occurrences
        return kinds


def _number(text: str) -> float:
    return 0.0 if text in ("", "N/A") else float(text)


def read_step(prefix: Path, users: int, seconds: float) -> Step:
    """The step whose Locust run wrote `<prefix>_stats.csv` and `<prefix>_failures.csv`."""
    rows: list[RouteStats] = []
    total: RouteStats | None = None
    with Path(f"{prefix}_stats.csv").open(newline="") as stats:
        for line in csv.DictReader(stats):
            row = RouteStats(
                name=line["Name"],
                requests=int(line["Request Count"]),
                failures=int(line["Failure Count"]),
                per_second=_number(line["Requests/s"]),
                p50=_number(line["50%"]),
                p95=_number(line["95%"]),
                p99=_number(line["99%"]),
            )
            if row.name == AGGREGATED:
                total = row
            else:
                rows.append(row)
    if total is None:
        raise ValueError(f"{prefix}_stats.csv has no {AGGREGATED} row")
    failures_csv = Path(f"{prefix}_failures.csv")
    failures: list[Failure] = []
    if failures_csv.exists():
        with failures_csv.open(newline="") as lines:
            failures = [
                Failure(line["Name"], line["Error"], int(line["Occurrences"]))
                for line in csv.DictReader(lines)
            ]
    return Step(users, seconds, tuple(rows), total, tuple(failures))


@dataclass(frozen=True, slots=True)
class Verdict:
    sustainable: int | None  # users of the highest step served whole, None if none was
    overloaded: tuple[Step, ...]  # the steps above it
    only_shed: (
        bool  # every step above it failed nothing: its unserved requests were all 429/503 + Retry-After
    )

    def sentences(self) -> list[str]:
        if self.sustainable is None:
            lines = ["Sustainable load: none of the steps was served within the 0.1% budget."]
        else:
            lines = [
                f"Sustainable load: **{self.sustainable} users**, the highest step with under 0.1% of its "
                "requests failed or shed."
            ]
        if not self.overloaded:
            return [*lines, "No step went past it: the overload step was served whole too."]
        if self.only_shed:
            return [
                *lines,
                "Past it, the failure mode is only shedding: every request not served was a 429/503 with "
                "`Retry-After`; no timeouts, no 5xx, no connection errors.",
            ]
        kinds: dict[str, int] = {}
        for step in self.overloaded:
            for kind, count in step.failure_kinds().items():
                kinds[kind] = kinds.get(kind, 0) + count
        found = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        return [*lines, f"Past it, requests also **failed** (not only shed): {found}."]


def verdict(steps: Sequence[Step]) -> Verdict:
    ordered = sorted(steps, key=lambda step: step.users)
    whole = [step.users for step in ordered if step.served_all]
    sustainable = max(whole) if whole else None
    above = tuple(step for step in ordered if sustainable is None or step.users > sustainable)
    return Verdict(sustainable, above, all(step.failed == 0 for step in above))


def _ms(value: float) -> str:
    return f"{value:.0f}"


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def markdown(steps: Sequence[Step], machine: dict[str, object], notes: Sequence[str] = ()) -> str:
    """results.md: the machine, one line per step, the latency per request name and step, and the verdict."""
    ordered = sorted(steps, key=lambda step: step.users)
    out = [
        "# Load test results",
        "",
        "Written by `make load` (bench/load/run.py); docs/operations.md explains it.",
        "",
    ]
    out += [f"- {name}: {value}" for name, value in machine.items()]
    out += [f"- {note}" for note in notes]
    out += ["", "| users | seconds | requests | requests/s | errors | error rate | shed | shed rate |"]
    out += ["|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for step in ordered:
        out.append(
            f"| {step.users} | {step.seconds:.0f} | {step.requests} | {step.total.per_second:.1f} | "
            f"{step.failed} | {_percent(step.rate(step.failed))} | {step.shed} | {_percent(step.rate(step.shed))} |"
        )
    out += ["", *verdict(ordered).sentences(), ""]
    out += [
        "Latency in ms of what was served (p50 / p95 / p99), and how many were shed, per request and step:",
        "",
    ]
    out += ["| request | route | " + " | ".join(f"{step.users} users" for step in ordered) + " |"]
    out += ["|---|---|" + "---:|" * len(ordered)]
    for name, route in ROUTES.items():
        cells = []
        for step in ordered:
            served = next((row for row in step.routes if row.name == name), None)
            shed = next((row.requests for row in step.routes if row.name == name + SHED), 0)
            cell = f"{_ms(served.p50)} / {_ms(served.p95)} / {_ms(served.p99)}" if served else "-"
            cells.append(cell + (f" ({shed} shed)" if shed else ""))
        out.append(f"| {name} | `{route}` | " + " | ".join(cells) + " |")
    failed: dict[tuple[int, str, str], tuple[int, str]] = {}  # (users, request, kind) -> (count, an error)
    for step in ordered:
        for failure in step.failures:
            count, sample = failed.get((step.users, failure.name, failure.kind), (0, failure.error))
            failed[(step.users, failure.name, failure.kind)] = (count + failure.occurrences, sample)
    if failed:
        out += [
            "",
            "Failures:",
            "",
            "| users | request | kind | count | for example |",
            "|---:|---|---|---:|---|",
        ]
        out += [f"| {u} | {name} | {kind} | {n} | `{e[:90]}` |" for (u, name, kind), (n, e) in failed.items()]
    return "\n".join(out) + "\n"
