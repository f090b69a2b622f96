"""Progress as commands show it on stderr: a live bar on a terminal; plain lines when stderr is a pipe or a file
(at most one every `LINE_SECONDS`, and always the last, so logs stay readable); nothing with `--quiet` or
`--json`. Each step gives a label, the share done (None: unknown) and what it counts; the time left is
estimated here from the share and the time spent."""

from __future__ import annotations

import time
from typing import Literal

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from lore.cli.common import err_console

Mode = Literal["bar", "lines", "off"]
LINE_SECONDS = 1.0
_ETA_AFTER = 0.02  # share of the work done before an estimate of the rest means anything


def mode_for(console: Console, quiet: bool) -> Mode:
    if quiet:
        return "off"
    return "bar" if console.is_terminal else "lines"


def remaining(fraction: float | None, elapsed: float) -> str:
    """`eta 1:02`, or "" while there is nothing to estimate from."""
    if fraction is None or fraction < _ETA_AFTER or fraction >= 1.0:
        return ""
    seconds = int(elapsed * (1.0 - fraction) / fraction)
    return f"eta {seconds // 60}:{seconds % 60:02d}"


class Reporter:
    """One line (or bar) per label, updated in place on a terminal."""

    def __init__(self, mode: Mode, console: Console = err_console) -> None:
        self.mode = mode
        self.console = console
        self._started: dict[str, float] = {}
        self._printed: tuple[str, float] = ("", 0.0)  # label and time of the last plain line
        self._finished: set[str] = set()
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[detail]}"),
            TextColumn("[dim]{task.fields[eta]}"),
            TimeElapsedColumn(),
            console=console,
            disable=mode != "bar",
        )
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, label: str, fraction: float | None, detail: str = "") -> None:
        now = time.monotonic()
        elapsed = now - self._started.setdefault(label, now)
        eta = remaining(fraction, elapsed)
        if self.mode == "bar":
            self._update_bar(label, fraction, detail, eta)
        elif self.mode == "lines":
            self._line(label, fraction, " · ".join(part for part in (detail, eta) if part), now)

    def _update_bar(self, label: str, fraction: float | None, detail: str, eta: str) -> None:
        if label not in self._tasks:
            self._tasks[label] = self._bar.add_task(label, total=None, detail="", eta="")
        total = None if fraction is None else 1.0
        self._bar.update(self._tasks[label], completed=fraction or 0.0, total=total, detail=detail, eta=eta)

    def _line(self, label: str, fraction: float | None, detail: str, now: float) -> None:
        last_label, last_time = self._printed
        finished = fraction is not None and fraction >= 1.0
        if label in self._finished or (
            label == last_label and not finished and now - last_time < LINE_SECONDS
        ):
            return
        if finished:
            self._finished.add(label)
        share = f"{fraction:4.0%} " if fraction is not None else ""
        self.console.print(
            f"{label}: {share}{detail}".rstrip(), highlight=False, markup=False, soft_wrap=True
        )
        self._printed = (label, now)

    def __enter__(self) -> Reporter:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()


def reporting(quiet: bool) -> Reporter:
    """`with reporting(quiet) as report: report("ingesting", 0.5, "6/12 files")`."""
    return Reporter(mode_for(err_console, quiet))
