"""Search analytics of the caller's tenant (admin): what people search for, what they click, and what finds
nothing, from the recorded `search` and `click` events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from lore.api.deps import LoreDep, TenantDep
from lore.api.errors import ERROR_RESPONSES
from lore.models import as_utc
from lore.wire.events import SearchAnalyticsOut

router = APIRouter(prefix="/v1/analytics", tags=["analytics"], responses=ERROR_RESPONSES)


@router.get("/search")
def search_analytics(
    lore: LoreDep,
    tenant: TenantDep,
    since: Annotated[datetime | None, Query(description="Searches at or after this time.")] = None,
    until: Annotated[datetime | None, Query(description="Searches before this time.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Queries per list.")] = 20,
    min_searches: Annotated[
        int, Query(ge=1, le=1_000_000, description="How often a never-clicked query was searched at least.")
    ] = 3,
) -> SearchAnalyticsOut:
    """Top queries (lower-cased, whitespace collapsed), queries searched at least `min_searches` times and
    never clicked, click-through rate by rank 1 to 10, and queries that found nothing."""
    since, until = as_utc(since), as_utc(until)
    lore.events.flush()  # this process's latest searches count too
    found = lore.store.events.search_analytics(tenant, since, until, limit=limit, min_searches=min_searches)
    return SearchAnalyticsOut.of(found, since, until)
