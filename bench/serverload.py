"""What the efficiency and open-loop benchmarks share: the CPU a process tree has spent (read from /proc), and
closed-loop load from `wrk`, a compiled HTTP load tool (Debian's `wrk` package), whose own CPU is measured too.

A Python load generator costs about as much CPU per request as a cheap search: on a 2-core machine it takes its
share from the server it measures. `wrk` costs a few microseconds a request. It sends POST bodies from a file,
one a line, each once (a Lua script, written here), so no search repeats while the file lasts.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
WRK = shutil.which("wrk") or "/usr/bin/wrk"

# Requests are formatted once per body when a wrk thread starts; `done` prints one JSON line.
WRK_SCRIPT = """
local bodies, requests, i = {}, {}, 0
local path = os.getenv("LORE_WRK_PATH")
local method = os.getenv("LORE_WRK_METHOD")
for line in io.lines(os.getenv("LORE_WRK_BODIES")) do bodies[#bodies + 1] = line end
wrk.headers["Authorization"] = os.getenv("LORE_WRK_AUTH")
wrk.headers["Content-Type"] = "application/json"

init = function(args)
  if #bodies == 0 then
    requests[1] = wrk.format(method, path)
  else
    for n, body in ipairs(bodies) do requests[n] = wrk.format(method, path, nil, body) end
  end
end

request = function()
  i = i + 1
  return requests[(i - 1) % #requests + 1]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


# -- CPU of a process tree ------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, user + system ticks) of a live process, from /proc/<pid>/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return int(fields[1]), int(fields[11]) + int(fields[12])


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one live process (0 once it has gone)."""
    stat = _stat(pid)
    return stat[1] / TICKS if stat is not None else 0.0


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of `root` and every live descendant (uvicorn's supervisor and its workers)."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    stats = {pid: stat for pid in pids if (stat := _stat(pid)) is not None}
    children: dict[int, list[int]] = {}
    for pid, (parent, _ticks) in stats.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
            todo.extend(children.get(pid, []))
    return total / TICKS


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's reaped children so far (a generator, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- closed-loop load with wrk --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrkRun:
    requests: int
    errors: int
    seconds: float
    latency_ms: Mapping[str, float]
    generator_cpu: float  # CPU seconds wrk itself spent
    server_cpu: float  # CPU seconds the server's process tree spent meanwhile

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_available() -> bool:
    return Path(WRK).exists()


def run_wrk(
    url: str,
    path: str,
    bodies: Sequence[Any],
    *,
    server_pid: int,
    key: str,
    concurrency: int,
    seconds: float,
    method: str = "POST",
) -> WrkRun:
    """`wrk -t1 -c<concurrency> -d<seconds>` sending each body once in turn (a GET when there are none),
    with the server tree's CPU read right before and after."""
    with tempfile.TemporaryDirectory(prefix="lore-wrk-") as scratch:
        script, lines = Path(scratch) / "bodies.lua", Path(scratch) / "bodies.jsonl"
        script.write_text(WRK_SCRIPT)
        lines.write_text("".join(json.dumps(body) + "\n" for body in bodies))
        env = {
            **os.environ,
            "LORE_WRK_PATH": path,
            "LORE_WRK_METHOD": method,
            "LORE_WRK_BODIES": str(lines),
            "LORE_WRK_AUTH": f"Bearer {key}",
        }
        command = [WRK, "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
        generator_before, server_before = children_cpu_seconds(), tree_cpu_seconds(server_pid)
        done = subprocess.run(
            [*command, "-s", str(script), url], capture_output=True, text=True, env=env, check=True
        )
        server_cpu = tree_cpu_seconds(server_pid) - server_before
        generator_cpu = children_cpu_seconds() - generator_before
    return _parsed(done.stdout, generator_cpu, server_cpu)


def _parsed(output: str, generator_cpu: float, server_cpu: float) -> WrkRun:
    line = next(line for line in reversed(output.splitlines()) if line.startswith("{"))
    raw = json.loads(line)
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    latency = {name: round(raw[f"{name}_us"] / 1000, 2) for name in ("p50", "p90", "p99", "max")}
    seconds = raw["duration_us"] / 1e6
    return WrkRun(raw["requests"], errors, seconds, latency, generator_cpu, server_cpu)
