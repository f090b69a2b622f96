"""Whether a provider can answer at all right now, so clients are offered only the models that work
(`GET /v1/models`): a provider may report why it cannot (`Checked`); one that does not is taken as able.

    >>> unavailable(Unconfigured("anthropic", "LORE_ANTHROPIC_API_KEY", "..."))
    'not_configured'

Servers are checked by opening a TCP connection to their base URL's host (half a second at most), remembered
for `REMEMBER_SECONDS`, so listing models costs a request nothing but the first time in a while.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

CONNECT_SECONDS = 0.5
REMEMBER_SECONDS = 30.0
_seen: dict[tuple[str, int], tuple[float, bool]] = {}
_lock = threading.Lock()


@runtime_checkable
class Checked(Protocol):
    def unavailable(self) -> str | None:
        """Why the provider cannot answer now (`not_configured`, `not_installed`, `unreachable`), or None."""
        ...


def unavailable(provider: object) -> str | None:
    return provider.unavailable() if isinstance(provider, Checked) else None


def reachable(base_url: str) -> bool:
    """Whether the server of `base_url` accepts a TCP connection (the answer is remembered a while)."""
    parts = urlsplit(base_url)
    if parts.hostname is None:
        return False
    address = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    now = time.monotonic()
    with _lock:
        seen = _seen.get(address)
    if seen is not None and now - seen[0] < REMEMBER_SECONDS:
        return seen[1]
    try:
        with socket.create_connection(address, timeout=CONNECT_SECONDS):
            ok = True
    except OSError:
        ok = False
    with _lock:
        _seen[address] = (now, ok)
    return ok
