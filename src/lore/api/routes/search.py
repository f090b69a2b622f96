"""Search: hybrid, vector or keyword retrieval over the tenant's collections."""

from __future__ import annotations

import time

import anyio.to_thread
from fastapi import APIRouter

from lore.api.deps import LoreDep, MetricsDep, SearchLimiterDep, TenantDep
from lore.api.errors import ERROR_RESPONSES
from lore.wire.schemas import HitOut, SearchIn, SearchOut

router = APIRouter(prefix="/v1", tags=["search"], responses=ERROR_RESPONSES)


@router.post("/search")
async def search(
    body: SearchIn, lore: LoreDep, tenant: TenantDep, metrics: MetricsDep, limiter: SearchLimiterDep
) -> SearchOut:
    """The search itself blocks (embedding, index, store), so it runs on a worker thread; the app's search
    limiter admits `LORE_SEARCH_THREADS` at a time per process, and the rest wait on the event loop. Sixteen
    searches on sixteen threads of one process only fight over the GIL and the cores (measured: half the
    throughput, ten times the in-service latency)."""
    domain = body.to_domain(tenant)
    start = time.perf_counter()
    hits = await anyio.to_thread.run_sync(lore.search, domain, limiter=limiter)
    seconds = time.perf_counter() - start
    metrics.search_seconds.labels(body.mode).observe(seconds)
    return SearchOut(
        query=body.query,
        mode=body.mode,
        took_ms=round(seconds * 1000, 3),
        hits=[HitOut.of(hit) for hit in hits],
    )
