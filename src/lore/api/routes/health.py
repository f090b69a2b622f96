"""Operations: liveness, readiness and Prometheus metrics, for load balancers and scrapers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from lore.api.deps import AnsweringDep, JobsDep, LoreDep, MetricsDep
from lore.api.errors import ERROR_RESPONSES
from lore.config import IndexSettings
from lore.service.index_sync import IndexBehind
from lore.service.readiness import probe, require
from lore.wire.schemas import Health, MetricsHistory

router = APIRouter(tags=["operations"], responses=ERROR_RESPONSES)
OPTIONAL = frozenset({"providers"})  # what /readyz reports but does not require
# Declared by hand: a PlainTextResponse class on the route would document its JSON errors as text/plain too.
METRICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Prometheus text exposition",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


@router.get("/healthz")
async def healthz() -> Health:
    """The process serves requests; says nothing about its dependencies (that is /readyz)."""
    return Health()


@router.get("/readyz")
def readyz(lore: LoreDep, jobs: JobsDep, answering: AnsweringDep) -> dict[str, Any]:
    """Ready to take traffic: every component answers (the store, the vector and keyword indexes, the job
    queue, Redis when configured), each reported with its status and latency in ms, and the vector index is not
    far behind the store (`LORE_READY_MAX_LAG_CHANGES`, `LORE_READY_MAX_LAG_SECONDS`). A failure is a 503
    (`not_ready`, or `index_behind`) whose details are the components, so balancers route elsewhere. The
    server's providers are reported without being called (configured, circuit states, refused keys); a failing
    provider takes no replica out of service."""
    components = {
        **lore.readiness(),
        "queue": probe("queue", jobs.readiness),
        "providers": probe("providers", answering.providers.readiness),
    }
    require(components, optional=OPTIONAL)
    check_lag(components, lore.settings.index)
    return components


def check_lag(components: dict[str, Any], limits: IndexSettings) -> None:
    """`IndexBehind` (503, with every component) when the vector index lags past either limit."""
    index = components["vector_index"]
    behind, seconds = index["changes_behind"], index["seconds_behind"]
    if behind > limits.ready_max_lag_changes or seconds > limits.ready_max_lag_seconds:
        raise IndexBehind(
            f"the vector index is {behind} changes ({seconds:g} s) behind the store",
            details={
                **components,
                "max_lag_changes": limits.ready_max_lag_changes,
                "max_lag_seconds": limits.ready_max_lag_seconds,
            },
        )


@router.get("/metrics", response_class=Response, responses=METRICS_RESPONSE)
def metrics(metrics: MetricsDep) -> PlainTextResponse:
    """Prometheus text exposition of this app's metrics (of all workers under `--workers N`); a thread, since
    the store's figures are read (at most every few seconds) and the workers' files too."""
    return PlainTextResponse(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/metrics/history")
async def metrics_history(request: Request) -> MetricsHistory:
    """The last hour of requests per second, error rate, latency percentiles, cache hit rate and queue depth,
    one sample per `LORE_METRICS_HISTORY_SECONDS`, oldest first: what the health page charts."""
    history = request.app.state.metrics_history
    return MetricsHistory(
        interval_seconds=history.interval, window_seconds=history.window, samples=history.snapshot()
    )
