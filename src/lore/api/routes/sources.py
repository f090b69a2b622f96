"""The caller's tenant's stored sources: create, list, inspect, delete, and sync now (202 with the job, which
`/v1/jobs` shows). Editors manage website sources; folder and archive sources need the installation scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import JobsDep, LoreDep, TenantDep
from lore.api.errors import ERROR_RESPONSES
from lore.connectors.sources import NewSource, Sources
from lore.security.access import check_collection
from lore.security.scopes import Scope
from lore.wire.schemas import JobOut
from lore.wire.sources import SourceIn, SourceOut, SourcePage

router = APIRouter(prefix="/v1/sources", tags=["sources"], responses=ERROR_RESPONSES)

SourceId = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=1000)]


@router.post("", status_code=201)
def create_source(body: SourceIn, lore: LoreDep, principal: PrincipalDep, audit: AuditDep) -> SourceOut:
    check_collection(principal, body.collection)
    new = NewSource(body.name, body.kind, body.location, body.collection, body.interval_seconds, body.options)
    local = Scope.INSTALLATION in principal.scopes
    source = Sources(lore).create(principal.tenant_id, new, local_allowed=local)
    audit.record("source.created", target=source.id, summary={"kind": body.kind, "location": body.location})
    return SourceOut.of(source)


@router.get("")
def list_sources(lore: LoreDep, tenant: TenantDep, limit: Limit = 50, cursor: Cursor = None) -> SourcePage:
    page = Sources(lore).list(tenant, limit, cursor)
    return SourcePage(items=[SourceOut.of(s) for s in page.items], next_cursor=page.next_cursor)


@router.get("/{source_id}")
def get_source(source_id: SourceId, lore: LoreDep, tenant: TenantDep) -> SourceOut:
    return SourceOut.of(Sources(lore).get(tenant, source_id))


@router.delete("/{source_id}", status_code=204)
def delete_source(source_id: SourceId, lore: LoreDep, tenant: TenantDep, audit: AuditDep) -> Response:
    """Forget the source; the documents it wrote stay in their collection."""
    Sources(lore).delete(tenant, source_id)
    audit.record("source.deleted", target=source_id)
    return Response(status_code=204)


@router.post("/{source_id}/sync", status_code=202)
def sync_source(
    source_id: SourceId, lore: LoreDep, jobs: JobsDep, tenant: TenantDep, response: Response, audit: AuditDep
) -> JobOut:
    """Queue a sync of the source now; follow the job at its `Location`."""
    job = Sources(lore, jobs).enqueue(tenant, source_id)
    audit.record("source.sync_queued", target=source_id, summary={"job_id": job.id})
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobOut.of(job)
