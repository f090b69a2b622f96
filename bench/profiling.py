"""Sample a running server with py-spy while a workload runs, and say where its time went."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from benchkit import RESULTS

PY_SPY = Path(sys.executable).with_name("py-spy")
LINE_NUMBER = re.compile(r":\d+\)$")


class Target(Protocol):
    pid: int
    workers: int


class Profiler:
    """`py-spy record` of the server (and its worker processes) for `seconds`; off unless `enabled`."""

    def __init__(self, target: Target, name: str, seconds: float, *, enabled: bool) -> None:
        self.target = target
        self.seconds = max(1, int(seconds))
        self.output = RESULTS / f"profile-w{target.workers}-{name}.txt"
        self.enabled = enabled
        self.summary: dict[str, Any] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        if self.enabled:
            command = [
                str(PY_SPY),
                "record",
                "--pid",
                str(self.target.pid),
                "--duration",
                str(self.seconds),
                "--rate",
                "100",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(self.output),
            ]
            if self.target.workers > 1:
                command.append("--subprocesses")
            self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is None:
            return
        self._process.wait(timeout=self.seconds + 60)
        if self.output.exists():
            self.summary = summarise(self.output.read_text())
            print(render(self.summary), flush=True)


def summarise(collapsed: str, top: int = 25) -> dict[str, Any]:
    """Share of samples per function: on top of the stack (self) and anywhere in it (inclusive)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [LINE_NUMBER.sub(")", frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    share = 100.0 / total if total else 0.0
    return {
        "samples": total,
        "self_percent": {f: round(n * share, 1) for f, n in own.most_common(top)},
        "inclusive_percent": {f: round(n * share, 1) for f, n in inclusive.most_common(top * 2)},
    }


def render(summary: dict[str, Any]) -> str:
    lines = [f"  py-spy: {summary['samples']} samples; self time:"]
    lines += [f"    {pct:5.1f}%  {frame}" for frame, pct in list(summary["self_percent"].items())[:15]]
    return "\n".join(lines)
