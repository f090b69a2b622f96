"""Operations: liveness, readiness and Prometheus metrics, for load balancers and scrapers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lore.api.deps import JobsDep, LoreDep, MetricsDep
from lore.api.errors import ERROR_RESPONSES
from lore.errors import LoreError, Unavailable
from lore.wire.schemas import Health

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
def readyz(lore: LoreDep, jobs: JobsDep) -> dict[str, Any]:
    """Ready to take traffic: the store and the job queue answer. A failure is a 503, so balancers route
    elsewhere."""
    try:
        return {**lore.readiness(), "queue": jobs.readiness()}
    except LoreError:
        raise
    except Exception as exc:  # whatever the driver raises, the answer is "not ready", not a 500
        logger.warning("readiness check failed: %s", exc)
        raise Unavailable("the store is not ready", details={"reason": type(exc).__name__}) from exc


@router.get("/metrics", response_class=Response, responses=METRICS_RESPONSE)
async def metrics(metrics: MetricsDep) -> PlainTextResponse:
    """Prometheus text exposition of this app's registry."""
    return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
