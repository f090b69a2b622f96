"""A real `lore serve` for the fuzz tests: its own process (so the memory measured is the server's alone) on a
free loopback port, over a temporary data dir, with keys minted into the store before it starts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from lore.config import Settings
from lore.registry import create_store
from lore.security.scopes import Scope
from tests.keys import bearer, mint_key
from tests.served import free_port
from tests.waiting import wait_for

# A tenant of its own for the key that puts the fuzzed tenant back: the fuzzer may disable any tenant it names.
GUARD_TENANT = "fuzz-guard"


@dataclass(frozen=True, slots=True)
class ServedLore:
    url: str
    pid: int
    key: str  # every scope of the default tenant
    guard_key: str  # the installation scope, in GUARD_TENANT

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)

    def peak_rss_bytes(self) -> int:
        """The server process's resident-set high-water mark (VmHWM), read while it runs."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmHWM in /proc/{self.pid}/status")


def mint_keys(data_dir: Path) -> tuple[str, str]:
    """The fuzzing key and the guard's, minted into the (migrated) store as `lore keys create` would."""
    db = create_store(Settings(_env_file=None, data_dir=data_dir))
    try:
        db.migrate()
        db.tenants.create(GUARD_TENANT)
        return mint_key(db), mint_key(db, GUARD_TENANT, frozenset({Scope.INSTALLATION}))
    finally:
        db.close()


@contextlib.contextmanager
def lore_serve(data_dir: Path, model_cache: Path, log: Path) -> Iterator[ServedLore]:
    """`lore serve` on the embedded default with its default limits, stopped with SIGINT (then SIGKILL)."""
    key, guard_key = mint_keys(data_dir)
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("LORE_")} | {
        "LORE_MODEL_CACHE_DIR": str(model_cache),
        "LORE_EMBED_THREADS": "1",
        "LORE_PARSE_WORKERS": "1",
    }
    command = [sys.executable, "-m", "lore", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=data_dir, stdout=output, stderr=subprocess.STDOUT)
    served = ServedLore(f"http://127.0.0.1:{port}", process.pid, key, guard_key)
    try:
        with httpx.Client(base_url=served.url, timeout=5) as http:
            wait_for(lambda: _ready(http, process, log), "lore serve to come up", poll=0.1)
        yield served
    finally:
        _stop(process)


def _ready(http: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> bool:
    assert process.poll() is None, f"lore serve exited with {process.returncode}:\n{log.read_text()}"
    with contextlib.suppress(httpx.TransportError):
        return http.get("/readyz").status_code == 200
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(60)
