"""Readiness of the parts a server depends on, each checked by a real call and timed:

    {"store": {"status": "ok", "latency_ms": 0.41, "backend": "sqlite", "store_seq": 812},
     "queue": {"status": "failing", "latency_ms": 250.3, "reason": "ConnectionError"}, ...}

A check returns its details or raises; whatever it raises makes its component `failing` with the exception's
type as the reason (never its message, which may quote a URL with a password). A check may also report itself
`failing` (every provider's circuit open) without raising.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from lore.errors import Unavailable

logger = logging.getLogger("lore.service")


class NotReady(Unavailable):
    """A component a replica needs is failing (503): a balancer should route elsewhere."""

    code = "not_ready"


Check = Callable[[], Mapping[str, Any]]
Component = dict[str, Any]
OK: Literal["ok"] = "ok"
FAILING: Literal["failing"] = "failing"


def probe(name: str, check: Check) -> Component:
    """The component's status, the check's latency in milliseconds and its details."""
    start = time.perf_counter()
    try:
        details: dict[str, Any] = {"status": OK, **check()}
    except Exception as error:
        logger.warning("readiness: %s is failing (%s)", name, type(error).__name__)
        details = {"status": FAILING, "reason": type(error).__name__}
    return {"status": details.pop("status"), "latency_ms": round((time.perf_counter() - start) * 1000, 3)} | (
        details
    )


def probe_all(checks: Mapping[str, Check]) -> dict[str, Component]:
    return {name: probe(name, check) for name, check in checks.items()}


def failing(components: Mapping[str, Component]) -> list[str]:
    return [name for name, component in components.items() if component["status"] != OK]


def require(components: Mapping[str, Component], optional: frozenset[str] = frozenset()) -> None:
    """`NotReady`, with every component as its details, when one outside `optional` is failing."""
    down = [name for name in failing(components) if name not in optional]
    if down:
        raise NotReady(f"not ready: {', '.join(down)} failing", details=dict(components))
