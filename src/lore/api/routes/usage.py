"""Usage: what a tenant used per day and key (requests, searches, answers, tokens per provider, bytes
ingested), for its admins."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from lore.api.deps import LoreDep, TenantDep, ThrottlingDep
from lore.api.errors import ERROR_RESPONSES
from lore.security.usage import report_range
from lore.wire.usage import UsageOut

router = APIRouter(prefix="/v1", tags=["usage"], responses=ERROR_RESPONSES)


@router.get("/usage")
async def get_usage(
    lore: LoreDep,
    tenant: TenantDep,
    throttling: ThrottlingDep,
    since: Annotated[
        date | None, Query(description="First day (UTC); default: 29 days before `until`.")
    ] = None,
    until: Annotated[date | None, Query(description="Last day (UTC); default: today.")] = None,
    key_id: Annotated[str | None, Query(min_length=1, max_length=64, description="Only this key.")] = None,
) -> UsageOut:
    """Counters per day and key, oldest first, with their totals (at most 366 days). This process's buffered
    counts are written first, so the report includes the request before this one."""
    first, last = report_range(since, until, datetime.now(UTC).date())
    await run_in_threadpool(throttling.recorder.flush)
    rows = await run_in_threadpool(lore.store.usage.report, tenant, str(first), str(last), key_id)
    return UsageOut.of(tenant, first, last, key_id, rows)
