"""Search: hybrid, vector or keyword retrieval over the tenant's collections."""

from __future__ import annotations

import time

from fastapi import APIRouter

from lore.api.deps import LoreDep, MetricsDep, TenantDep
from lore.api.schemas import ERROR_RESPONSES, HitOut, SearchIn, SearchOut

router = APIRouter(prefix="/v1", tags=["search"], responses=ERROR_RESPONSES)


@router.post("/search")
def search(body: SearchIn, lore: LoreDep, tenant: TenantDep, metrics: MetricsDep) -> SearchOut:
    """Plain `def`: the search blocks (embedding, index, store), so FastAPI runs it in the threadpool."""
    start = time.perf_counter()
    hits = lore.search(body.to_domain(tenant))
    seconds = time.perf_counter() - start
    metrics.search_seconds.labels(body.mode).observe(seconds)
    return SearchOut(
        query=body.query,
        mode=body.mode,
        took_ms=round(seconds * 1000, 3),
        hits=[HitOut.of(hit) for hit in hits],
    )
