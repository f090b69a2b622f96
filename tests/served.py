"""A real `lore serve` process on a free loopback port, for tests of what only a whole server shows: its HTTP
framing, its shutdown, its start-up messages."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from lore.config import Settings
from tests.keys import bearer, operator_key
from tests.waiting import wait_for


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_env(data_dir: Path, model_cache: Path, **settings: str) -> dict[str, str]:
    """The environment without other LORE_ variables, plus the data dir, the model cache and `settings`
    (flat names: `header_timeout_seconds="1"`)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("LORE_")}
    env |= {"LORE_DATA_DIR": str(data_dir), "LORE_MODEL_CACHE_DIR": str(model_cache)}
    env |= {"LORE_EMBED_THREADS": "1", "LORE_PARSE_WORKERS": "1"}
    return env | {f"LORE_{name.upper()}": value for name, value in settings.items()}


class ServedLore:
    """`python -m lore serve` with `env` (and `workers` processes), started by `with`, and stopped (SIGINT, then
    SIGKILL) at its end."""

    def __init__(self, env: dict[str, str], cwd: Path, port: int | None = None, workers: int = 1) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "lore", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(workers)]
        store = Settings(
            _env_file=None, data_dir=Path(env["LORE_DATA_DIR"]), database_url=env.get("LORE_DATABASE_URL")
        )
        self.headers = bearer(operator_key(store))  # minted before the server starts, into its store
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stderr=subprocess.PIPE, text=True)
        self.log = ""  # what the server wrote to stderr, once it has stopped
        # Drained as it is written: a full pipe would block the server's next log line, and with it the event loop.
        self._lines: list[str] = []
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()

    def __enter__(self) -> ServedLore:
        wait_for(self._up, "lore serve to come up", poll=0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._drain.join(30)
        self.log = "".join(self._lines)
        sys.stderr.write(self.log)  # the server's log, which pytest shows if the test fails

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            self._lines.extend(self.process.stderr)

    def _up(self) -> bool:
        assert self.process.poll() is None, f"lore serve exited with {self.process.returncode}"
        with contextlib.suppress(httpx.TransportError):
            return httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200
        return False

    def connect(self, timeout: float) -> socket.socket:
        """A raw connection, whose reads give up after `timeout` seconds."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset ends it too)."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received
