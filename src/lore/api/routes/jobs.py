"""Background jobs: batch ingestion (202 with the job), and listing, inspecting and retrying jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import JobsDep, TenantDep
from lore.api.errors import ERROR_RESPONSES
from lore.jobs import JobState
from lore.jobs.kinds.ingest import author_params
from lore.security.access import author_of, check_collection
from lore.wire.schemas import IngestIn, JobOut, JobPage

router = APIRouter(prefix="/v1", tags=["jobs"], responses=ERROR_RESPONSES)

JobId = Annotated[str, Path(min_length=1, max_length=64)]


def _accepted(response: Response, job: JobOut) -> JobOut:
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job


@router.post("/ingest", status_code=202)
def ingest(
    body: IngestIn, jobs: JobsDep, principal: PrincipalDep, response: Response, audit: AuditDep
) -> JobOut:
    """Queue a batch of text documents for indexing, written as the caller (owner, permissions) would write
    them one by one; follow the job at its `Location`."""
    for document in body.documents:
        check_collection(principal, document.collection)
    documents = [document.model_dump(exclude_none=True) for document in body.documents]
    params = {"documents": documents, "author": author_params(author_of(principal))}
    job = jobs.submit("ingest", params, tenant_id=principal.tenant_id)
    audit.record("job.ingest_queued", target=job.id, summary={"documents": len(documents)})
    return _accepted(response, JobOut.of(job))


@router.get("/jobs")
def list_jobs(
    jobs: JobsDep,
    tenant: TenantDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    state: JobState | None = None,
    kind: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> JobPage:
    """Newest first; follow `next_cursor` until it is null."""
    page = jobs.list(tenant_id=tenant, limit=limit, cursor=cursor, state=state, kind=kind)
    return JobPage(items=[JobOut.of(job) for job in page.items], next_cursor=page.next_cursor)


@router.get("/jobs/{job_id}")
def get_job(job_id: JobId, jobs: JobsDep, tenant: TenantDep) -> JobOut:
    """State, progress, attempts, and the result or the last error."""
    return JobOut.of(jobs.get(job_id, tenant_id=tenant))


@router.post("/jobs/{job_id}/retry", status_code=202)
def retry_job(job_id: JobId, jobs: JobsDep, tenant: TenantDep, response: Response, audit: AuditDep) -> JobOut:
    """Queue a failed job again with fresh attempts (409 unless it failed)."""
    job = jobs.retry(job_id, tenant_id=tenant)
    audit.record("job.retried", target=job.id, summary={"kind": job.kind})
    return _accepted(response, JobOut.of(job))
