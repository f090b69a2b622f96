"""`lore search` and `lore ask` through a `lore serve` of the same data dir, when one is up: it holds the model
and the indexes in memory, so the command answers in milliseconds instead of loading them first.

`lore serve` writes `server.json` into the data dir once its port is bound (its address, its process and
which store it serves) and removes it when it stops; on the embedded store it also keeps a key for this
command line in `cli-key` (mode 0600, every scope of the default tenant but none of the installation's: what
the owner of the data dir may do anyway). A command uses the server when that file names a live process
serving the same store, it has a key, and `GET /v1/collections` with that key answers within a second: `$LORE_KEY`, else
`cli-key`. Otherwise, or when the server refuses the key, it works in process as before; `--no-server` says
so outright.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lore.errors import LoreError

if TYPE_CHECKING:
    import httpx

    from lore.config import Settings

STATE_FILE = "server.json"
KEY_FILE = "cli-key"
PROBE_SECONDS = 1.0
ANSWER_SECONDS = 600.0


def store_fingerprint(settings: Settings) -> str:
    """Which store a server serves, without writing its URL (and any password in it) into a file."""
    return hashlib.sha256(settings.storage.store_url.encode()).hexdigest()[:16]


def write_state(settings: Settings, url: str) -> Path:
    from lore.files import write_private

    path = settings.storage.data_dir / STATE_FILE
    state = {"url": url, "pid": os.getpid(), "store": store_fingerprint(settings)}
    write_private(path, json.dumps(state) + "\n")
    return path


def remove_state(settings: Settings) -> None:
    """Only this process's own file: another server may have taken the data dir over since."""
    path = settings.storage.data_dir / STATE_FILE
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


@dataclass(frozen=True, slots=True)
class Server:
    """A client of the server, and its collections as the probe found them (`CollectionOut` objects)."""

    client: httpx.Client
    collections: list[dict[str, Any]]

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def call(self, method: str, path: str, **options: Any) -> Any:
        """The JSON of a 2xx answer; an error answer becomes the `LoreError` it describes."""
        response = self.client.request(method, path, **options)
        if response.status_code >= 400:
            raise api_error(response)
        return response.json() if response.content else None

    def events(self, path: str, body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event, data) of a server-sent event stream."""
        with self.client.stream("POST", path, json=body, timeout=ANSWER_SECONDS) as response:
            if response.status_code >= 400:
                response.read()
                raise api_error(response)
            event = "message"
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    yield event, json.loads(line.removeprefix("data:"))
                    event = "message"


def failure(body: dict[str, Any]) -> LoreError:
    """The error an API error body (`{"error": {"code", "message", "details"}}`) describes, its code kept."""
    error = LoreError(str(body["error"]["message"]), details=body["error"].get("details") or {})
    error.code = str(body["error"]["code"])
    return error


def api_error(response: httpx.Response) -> LoreError:
    try:
        return failure(response.json())
    except (ValueError, KeyError, TypeError):
        return LoreError(f"the server answered {response.status_code}")


def local_server(settings: Settings) -> Server | None:
    """The server of this data dir, ready and taking the key; None: work in process."""
    state = _state(settings)
    key = os.environ.get("LORE_KEY") or _read(settings.storage.data_dir / KEY_FILE)
    if state is None or not key:
        return None
    import httpx

    client = httpx.Client(
        base_url=state["url"],
        headers={"Authorization": f"Bearer {key.strip()}"},
        timeout=httpx.Timeout(60.0, connect=PROBE_SECONDS),
    )
    try:
        probe = client.get("/v1/collections", timeout=PROBE_SECONDS)
    except httpx.HTTPError:
        probe = None
    if probe is None or probe.status_code != 200:
        client.close()
        return None
    return Server(client, probe.json()["items"])


def _state(settings: Settings) -> dict[str, Any] | None:
    text = _read(settings.storage.data_dir / STATE_FILE)
    try:
        state = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(state, dict) or state.get("store") != store_fingerprint(settings):
        return None
    try:
        os.kill(int(state["pid"]), 0)
    except ProcessLookupError:
        return None  # a server that died without cleaning up
    except (PermissionError, KeyError, ValueError, TypeError):
        pass
    return state if isinstance(state.get("url"), str) else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None
