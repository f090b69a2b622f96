"""Search: hybrid, vector or keyword retrieval over the collections and documents the caller may read. Each
search has a `search_id` that clicks and feedback name, and is recorded as a `search` event."""

from __future__ import annotations

import time

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request, Response

from lore.api.audit import RequestAudit
from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep, MetricsDep, SearchLimiterDep
from lore.api.errors import ERROR_RESPONSES
from lore.api.metrics import ApiMetrics
from lore.intelligence.events import new_id, search_event
from lore.models import Hit
from lore.security.access import act_as, asker_of, holder_of, search_as
from lore.security.audit import AuditLog
from lore.security.principal import Principal
from lore.service import Lore
from lore.wire.schemas import HitOut, SearchIn, SearchOut

router = APIRouter(prefix="/v1", tags=["search"], responses=ERROR_RESPONSES)


@router.post("/search", response_model=SearchOut)
async def search(
    request: Request,
    body: SearchIn,
    lore: LoreDep,
    principal: PrincipalDep,
    metrics: MetricsDep,
    limiter: SearchLimiterDep,
) -> Response:
    """Serialised once, here: FastAPI would validate the model again before serialising it."""
    out = await searched(request, body, lore, principal, metrics, limiter)
    return Response(out.model_dump_json(), media_type="application/json")


async def searched(
    request: Request,
    body: SearchIn,
    lore: Lore,
    principal: Principal,
    metrics: ApiMetrics,
    limiter: anyio.CapacityLimiter,
) -> SearchOut:
    """The search itself blocks (embedding, index, store), so it runs on a worker thread; the app's search
    limiter admits `LORE_SEARCH_THREADS` at a time per process, and the rest wait on the event loop. Sixteen
    searches on sixteen threads of one process only fight over the GIL and the cores (measured: half the
    throughput, ten times the in-service latency). With `as_user`, an admin sees what that user would (and the
    audit log says so)."""
    start = time.perf_counter()
    asker = asker_of(principal)
    if body.as_user is not None:
        audit = RequestAudit.of(request, AuditLog(lore.store.audit), principal.tenant_id, principal.actor)
        principal = await anyio.to_thread.run_sync(_acting_as, lore, principal, body.as_user, audit)
    hits = await anyio.to_thread.run_sync(_search, lore, principal, body, limiter=limiter)
    seconds = time.perf_counter() - start
    metrics.search_seconds.labels(body.mode).observe(seconds)
    search_id = new_id()
    lore.events.record(search_event(asker, search_id, body.query, body.mode, body.first_collection, hits))
    return SearchOut(
        search_id=search_id,
        query=body.query,
        mode=body.mode,
        took_ms=round(seconds * 1000, 3),
        hits=[HitOut.of(hit, rank) for rank, hit in enumerate(hits, start=1)],
    )


def _acting_as(lore: Lore, principal: Principal, user_id: str, audit: RequestAudit) -> Principal:
    user = act_as(principal, user_id, holder_of(lore.store, principal.tenant_id, user_id))
    audit.record("search.as_user", target=user_id)
    return user


def _search(lore: Lore, principal: Principal, body: SearchIn) -> list[Hit]:
    return lore.search(search_as(principal, body.to_domain(principal.tenant_id)))
