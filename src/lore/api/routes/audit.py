"""The audit log of the caller's tenant: pages of it, newest first, and whole exports (CSV or JSON lines)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from lore.api.audit import AuditDep
from lore.api.deps import LoreDep, TenantDep
from lore.api.errors import ERROR_RESPONSES
from lore.backends.store.audit_records import AuditFilters
from lore.models import as_utc
from lore.wire.audit import AuditPage, AuditRecordOut, ExportFormat, csv_lines, jsonl_lines

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=ERROR_RESPONSES)

Text = Annotated[str | None, Query(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl"}
EXPORT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Every matching record, oldest first, streamed.",
        "content": {media: {"schema": {"type": "string"}} for media in MEDIA.values()},
    }
}


def filters(
    actor: Text = None,
    action: Text = None,
    target: Text = None,
    since: Annotated[datetime | None, Query(description="Records at or after this time.")] = None,
    until: Annotated[datetime | None, Query(description="Records before this time.")] = None,
) -> AuditFilters:
    return AuditFilters(actor, action, target, as_utc(since), as_utc(until))


FiltersDep = Annotated[AuditFilters, Depends(filters)]


@router.get("")
def list_audit(
    lore: LoreDep,
    tenant: TenantDep,
    narrowed: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AuditPage:
    """Newest first; follow `next_cursor` until it is null."""
    page = lore.store.audit.page(tenant, limit, cursor, narrowed)
    items = [AuditRecordOut.model_validate(record) for record in page.items]
    return AuditPage(items=items, next_cursor=page.next_cursor)


@router.get("/export", response_class=StreamingResponse, responses=EXPORT_RESPONSE)
async def export_audit(
    lore: LoreDep,
    tenant: TenantDep,
    narrowed: FiltersDep,
    audit: AuditDep,
    format: Annotated[ExportFormat, Query(description="`jsonl` keeps every value as stored.")] = "jsonl",
) -> StreamingResponse:
    """Every matching record, oldest first, as CSV or JSON lines; the export itself is audited."""
    await run_in_threadpool(audit.record, "audit.exported", None, {"format": format, **_shown(narrowed)})
    records = lore.store.audit.chain(tenant, narrowed)
    lines: Iterator[bytes] = csv_lines(records) if format == "csv" else jsonl_lines(records)
    headers = {
        "Content-Disposition": f'attachment; filename="audit-{tenant}.{format}"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(lines, media_type=MEDIA[format], headers=headers)


def _shown(narrowed: AuditFilters) -> dict[str, object]:
    """The filters an export used, for its own audit record."""
    return {name: value for name, value in asdict(narrowed).items() if value is not None}
