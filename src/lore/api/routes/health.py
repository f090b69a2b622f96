"""Operations: liveness, readiness and Prometheus metrics, for load balancers and scrapers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from lore.api.deps import AnsweringDep, JobsDep, LoreDep, MetricsDep
from lore.api.errors import ERROR_RESPONSES
from lore.config import IndexSettings
from lore.errors import LoreError, Unavailable
from lore.service.index_sync import IndexBehind
from lore.wire.schemas import Health, MetricsHistory

router = APIRouter(tags=["operations"], responses=ERROR_RESPONSES)
logger = logging.getLogger("lore.api")
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
    """Ready to take traffic: the store and the job queue answer, and the vector index is not far behind the
    store (`LORE_READY_MAX_LAG_CHANGES`, `LORE_READY_MAX_LAG_SECONDS`). A failure is a 503 whose details say
    why, so balancers route elsewhere. `provider_keys` counts the tenants' provider keys their providers refuse
    and names the server's own that are refused (a refused key takes no replica out of service)."""
    try:
        state = {
            **lore.readiness(),
            "queue": jobs.readiness(),
            "provider_keys": answering.providers.readiness(),
        }
    except LoreError:
        raise
    except Exception as exc:  # whatever the driver raises, the answer is "not ready", not a 500
        logger.warning("readiness check failed: %s", exc)
        raise Unavailable("the store is not ready", details={"reason": type(exc).__name__}) from exc
    check_lag(state, lore.settings.index)
    return state


def check_lag(state: dict[str, Any], limits: IndexSettings) -> None:
    """`IndexBehind` (503, with the whole state) when the vector index lags past either limit."""
    behind, seconds = state["index"]["changes_behind"], state["index"]["seconds_behind"]
    if behind > limits.ready_max_lag_changes or seconds > limits.ready_max_lag_seconds:
        raise IndexBehind(
            f"the vector index is {behind} changes ({seconds:g} s) behind the store",
            details={
                **state,
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
