"""A real `lore serve` for a benchmark: on a free loopback port, waited for until ready, always stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HOST = "127.0.0.1"
LORE = Path(sys.executable).with_name("lore")


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    pid: int
    workers: int
    log: Path
    key: str  # an operator key of the default tenant, minted into the data dir before the server starts

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def mint_key(data_dir: Path) -> str:
    """`lore keys create` with every scope the benchmarks use, against the data dir's store."""
    scopes = ["search", "ask", "documents:read", "documents:write", "admin", "installation"]
    command = [str(LORE), "keys", "create", "--data-dir", str(data_dir), "--name", "bench", "--json"]
    done = subprocess.run(
        [*command, *(f"--scope={scope}" for scope in scopes)], capture_output=True, text=True, check=True
    )
    return str(json.loads(done.stdout)["key"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def lore_serve(
    data_dir: Path,
    workers: int,
    log: Path,
    ready_timeout: float = 180.0,
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """`lore serve --data-dir D --workers W` in its own process group, stopped (and reaped) on exit; `env`
    adds variables (`LORE_*` settings) to this process's environment for it."""
    port = free_port()
    key = mint_key(data_dir)
    command = [str(LORE), "serve", "--data-dir", str(data_dir), "--host", HOST, "--port", str(port)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, "--workers", str(workers)],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    server = Server(f"http://{HOST}:{port}", process.pid, workers, log, key)
    try:
        wait_ready(server, process, ready_timeout)
        yield server
    finally:
        stop(process)


def wait_ready(server: Server, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"lore serve exited with {process.returncode}:\n{tail(server.log)}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"lore serve not ready after {timeout:.0f} s:\n{tail(server.log)}")


def stop(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGINT (uvicorn's graceful shutdown) to the group we started, then SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait(grace)


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
