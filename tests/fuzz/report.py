"""The budget a fuzzing run has, from the environment (`make fuzz` sets a big one, `make test` runs the small
default), and what the run tried and found, gathered input by input and printed at the end of the session."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field

EXAMPLES_VARIABLE = "LORE_FUZZ_EXAMPLES"
SECONDS_VARIABLE = "LORE_FUZZ_SECONDS"
DEFAULT_EXAMPLES = 6  # generated inputs per target in `make test`: the fuzz tests take about a minute


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `examples` generated inputs per target (an API operation, or one hostile file's mutations) and,
    when `seconds` is set, an even share of them per target. The default budget is derandomised (the same
    inputs every run, so `make test` is reproducible); a budget from the environment explores new inputs."""

    examples: int
    seconds: float | None
    explore: bool

    @classmethod
    def from_environment(cls) -> Budget:
        examples, seconds = os.environ.get(EXAMPLES_VARIABLE), os.environ.get(SECONDS_VARIABLE)
        return cls(
            int(examples) if examples else DEFAULT_EXAMPLES,
            float(seconds) if seconds else None,
            explore=bool(examples or seconds),
        )

    def describe(self) -> str:
        seconds = f"{self.seconds:g} s" if self.seconds is not None else "none"
        return f"{EXAMPLES_VARIABLE}={self.examples} per target, {SECONDS_VARIABLE}={seconds}"


BUDGET = Budget.from_environment()  # read once, when the fuzz tests are collected


class BudgetSpent(BaseException):
    """A target's time share is spent. A BaseException, so Hypothesis stops generating at once instead of
    reading it as a failure; the fuzz tests' conftest ends the test there, as passed."""


@dataclass(slots=True)
class Report:
    budget: Budget
    targets: int
    inputs: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")
    peak_rss: tuple[int, str] = (0, "")
    startup_rss: int = 0
    started: dict[str, float] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)

    def pace(self, target: str) -> None:
        """Before each generated input of `target`: BudgetSpent once the target has had its share of time."""
        began = self.started.setdefault(target, time.monotonic())
        if self.budget.seconds is not None and time.monotonic() - began > self.budget.seconds / self.targets:
            self.stopped.add(target)
            raise BudgetSpent(target)

    def server_started(self, rss: int) -> None:
        """The server's peak memory once it is up with its documents: the baseline of the inputs' peaks."""
        self.startup_rss = rss
        self.peak_rss = (rss, "start-up")

    def tried(self, part: str, label: str, seconds: float, status: int, rss: int) -> None:
        """One input sent: its part of the run, what it was, how long the server took to answer, and the
        server's peak memory just after."""
        self.inputs[part] += 1
        self.statuses[status] += 1
        if status >= 500:
            self.server_errors.append(f"{label}: {status}")
        self.slowest = max(self.slowest, (seconds, label))
        if rss > self.peak_rss[0]:
            self.peak_rss = (rss, label)

    def violated(self, label: str, failures: list[str]) -> None:
        self.violations.extend(f"{label}: {failure}" for failure in failures)

    def lines(self) -> list[str]:
        parts = ", ".join(f"{part} {count}" for part, count in sorted(self.inputs.items()))
        seconds, slowest = self.slowest
        rss, during = self.peak_rss
        return [
            f"budget: {self.budget.describe()}; {len(self.stopped)} of {self.targets} targets stopped on time",
            f"inputs tried: {sum(self.inputs.values())} ({parts})",
            f"answers by status: {', '.join(f'{status} x{n}' for status, n in sorted(self.statuses.items()))}",
            f"5xx responses: {len(self.server_errors)}",
            *(f"  {error}" for error in self.server_errors[:20]),
            f"schema violations: {len(self.violations)}",
            *(f"  {violation}" for violation in self.violations[:20]),
            f"slowest input: {seconds:.2f} s, {slowest}",
            f"largest server RSS (VmHWM): {rss / 2**20:.0f} MiB, reached at {during} "
            f"(after start-up: {self.startup_rss / 2**20:.0f} MiB)",
        ]
