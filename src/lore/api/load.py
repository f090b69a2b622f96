"""Priority classes of the routes, and load shedding: when a server process is overloaded, bulk work is refused
first so that interactive requests keep their latency.

    probe         /healthz, /readyz, /metrics: never refused
    interactive   search, ask, conversations, chat completions, and every route not listed otherwise
    bulk          document uploads, ingest jobs, backups, job retries (re-embedding runs from the CLI)

Bulk work is refused when either measure crosses its threshold: requests in flight in this process
(`LORE_SHED_INFLIGHT`) or deliveries waiting in the job queue (`LORE_SHED_QUEUE_DEPTH`). Interactive requests are
refused only past `LORE_SHED_INFLIGHT_INTERACTIVE` requests in flight, where waiting in the queue would cost a
client more than a retry. A refused request gets 503 `overloaded` with `Retry-After`; it costs the server almost
nothing, since it is refused before its body is read.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import anyio.to_thread
from starlette.routing import compile_path

from lore.config import LimitsSettings
from lore.errors import Overloaded

logger = logging.getLogger("lore.api")


class Priority(StrEnum):
    PROBE = "probe"
    INTERACTIVE = "interactive"
    BULK = "bulk"


@dataclass(frozen=True, slots=True)
class RouteUse:
    """What a route is for the limits: its priority, the usage metric a success counts, whether its request
    body counts as bytes ingested and adds documents (storage quotas), and whether it spends LLM tokens."""

    priority: Priority = Priority.INTERACTIVE
    metric: str | None = None
    ingests: bool = False
    answers: bool = False


# One row per route that is not a plain interactive request without a usage metric of its own.
ROUTE_USE: dict[str, RouteUse] = {
    # what balancers and monitoring read: served however busy the process is
    "GET /healthz": RouteUse(Priority.PROBE),
    "GET /readyz": RouteUse(Priority.PROBE),
    "GET /metrics": RouteUse(Priority.PROBE),
    "POST /v1/search": RouteUse(metric="searches"),
    "POST /v1/conversations/{conversation_id}/messages": RouteUse(metric="answers", answers=True),
    "POST /v1/chat/completions": RouteUse(metric="answers", answers=True),
    # the web UI's chat: its answer stream is where the question is answered
    "GET /chat/{conversation_id}/answers/{token}": RouteUse(metric="answers", answers=True),
    "POST /v1/documents": RouteUse(Priority.BULK, ingests=True),
    "POST /v1/ingest": RouteUse(Priority.BULK, ingests=True),
    "POST /v1/admin/backups": RouteUse(Priority.BULK),
    "POST /v1/jobs/{job_id}/retry": RouteUse(Priority.BULK),
    # the web UI's upload and retry are the API's, from a form
    "POST /documents": RouteUse(Priority.BULK, ingests=True),
    "POST /jobs/{job_id}/retry": RouteUse(Priority.BULK),
}
INTERACTIVE = RouteUse()

_MATCHERS: list[tuple[str, re.Pattern[str], RouteUse]] = [
    (route.split(" ", 1)[0], compile_path(route.split(" ", 1)[1])[0], use) for route, use in ROUTE_USE.items()
]


def route_use(method: str, path: str) -> RouteUse:
    """The use of the route a raw request path reaches, before routing (so shedding skips the router)."""
    for wanted, pattern, use in _MATCHERS:
        if method == wanted and pattern.match(path):
            return use
    return INTERACTIVE


class LoadShedder:
    """Counts this process's requests in flight and decides whether to refuse a bulk one. The queue's depth is
    read (on a worker thread) at most once a second, only when a bulk request asks."""

    def __init__(self, settings: LimitsSettings, queue_depth: Callable[[], int] | None = None) -> None:
        self.max_inflight = settings.shed_inflight
        self.max_inflight_interactive = settings.shed_inflight_interactive
        self.max_queue_depth = settings.shed_queue_depth
        self.retry_after = settings.shed_retry_after
        self.queue_depth = queue_depth
        self.inflight = 0
        self._depth = 0
        self._depth_read_at = float("-inf")

    async def check(self, use: RouteUse) -> None:
        """Raise Overloaded if the process is overloaded for `use`: bulk work first, interactive requests only
        past their own, higher threshold, probes never."""
        if use.priority is Priority.PROBE:
            return
        if use.priority is Priority.INTERACTIVE:
            limit = self.max_inflight_interactive
            if limit and self.inflight >= limit:
                raise self._overloaded("requests_in_flight", self.inflight, limit, "requests are")
            return
        if self.max_inflight and self.inflight >= self.max_inflight:
            raise self._overloaded("requests_in_flight", self.inflight, self.max_inflight)
        depth = await self._queue_depth()
        if self.max_queue_depth and depth >= self.max_queue_depth:
            raise self._overloaded("queue_depth", depth, self.max_queue_depth)

    async def _queue_depth(self) -> int:
        if self.queue_depth is None or not self.max_queue_depth:
            return 0
        now = time.monotonic()
        if now - self._depth_read_at >= 1.0:
            self._depth_read_at = now  # before the read: requests arriving meanwhile use the last value
            try:
                self._depth = await anyio.to_thread.run_sync(self.queue_depth)
            except Exception as error:  # an unreachable queue is /readyz's to report, not a reason to shed
                logger.warning("job queue depth unknown: %s", type(error).__name__)
                self._depth = 0
        return self._depth

    def _overloaded(
        self, measure: str, value: int, threshold: int, refused: str = "bulk requests are"
    ) -> Overloaded:
        return Overloaded(
            f"the server is busy: {refused} refused for now, retry later",
            retry_after=self.retry_after,
            details={"measure": measure, "value": value, "threshold": threshold},
        )
