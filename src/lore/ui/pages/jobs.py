"""Jobs: the tenant's background jobs (batch ingestion, index rebuilds, re-embedding, backups, training), their
progress live while they run, and a failed job queued again. The list and the retry are the API's handlers
(`lore.api.routes.jobs`); the live part is a server-sent event stream of table rows: the server reads the
newest jobs every `POLL_SECONDS` and sends each row whose state or progress changed (and each job new since the
page opened), until the page goes away."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Path, Query, Request, Response
from starlette.responses import StreamingResponse

from lore.api.audit import AuditDep
from lore.api.deps import JobsDep, TenantDep
from lore.api.routes import jobs as api_jobs
from lore.api.streaming import HEADERS, html_frame
from lore.jobs import JobQueue, JobState
from lore.models import utcnow
from lore.ui.rendering import is_htmx, render
from lore.ui.routing import page_router
from lore.wire.schemas import JobOut, JobPage

router = page_router()
JobId = Annotated[str, Path(min_length=1, max_length=64)]
PAGE_SIZE = 25
POLL_SECONDS = 1.0
STATES: tuple[JobState, ...] = ("queued", "running", "succeeded", "failed")


@router.get("/jobs")
def jobs_page(
    request: Request,
    jobs: JobsDep,
    tenant: TenantDep,
    state: JobState | None = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """Newest first, a page at a time; an htmx request gets the next rows (a cursor) or the filtered list."""
    page = api_jobs.list_jobs(jobs, tenant, limit=PAGE_SIZE, cursor=cursor, state=state, kind=None)
    context = {
        "jobs": page.items,
        "next_cursor": page.next_cursor,
        "state": state or "",
        "states": STATES,
        "since": utcnow().isoformat(),
    }
    block = None
    if is_htmx(request):
        block = "rows" if cursor else "list"
    return render(request, "jobs.html", context, block=block)


@router.get("/jobs/stream")
async def jobs_stream(
    request: Request,
    jobs: JobsDep,
    tenant: TenantDep,
    since: datetime,
    state: JobState | None = None,
) -> Response:
    """`text/event-stream`: an event `job-<id>` with a job's new row whenever its state, progress or attempts
    change, and `job-new` with the row of a job created after `since` (when the page was rendered)."""
    events = _row_events(request, jobs, tenant, since, state)
    return StreamingResponse(events, headers=HEADERS, media_type="text/event-stream")


async def _row_events(
    request: Request, jobs: JobQueue, tenant: str, since: datetime, state: JobState | None
) -> AsyncIterator[bytes]:
    """Runs until the client goes away (Starlette cancels a stream then) or the server stops."""
    seen: dict[str, tuple[object, ...]] = {}
    while True:
        page = await anyio.to_thread.run_sync(_newest, jobs, tenant, state)
        for job in reversed(page.items):  # oldest first: new rows go on top in the order they came
            signature = (job.state, job.progress.done, job.progress.total, job.attempts, job.updated_at)
            before = seen.get(job.id)
            seen[job.id] = signature
            if before == signature or (before is None and job.updated_at < since):
                continue  # unchanged, or as the page shows it
            event = "job-new" if before is None and job.created_at >= since else f"job-{job.id}"
            yield html_frame(_row(request, job), event)
        await anyio.sleep(POLL_SECONDS)


def _newest(jobs: JobQueue, tenant: str, state: JobState | None) -> JobPage:
    return api_jobs.list_jobs(jobs, tenant, limit=PAGE_SIZE, cursor=None, state=state, kind=None)


def _row(request: Request, job: JobOut) -> str:
    response = render(request, "jobs.html", {"jobs": [job]}, block="job_rows")
    return bytes(response.body).decode()


@router.post("/jobs/{job_id}/retry")
def retry_job(request: Request, job_id: JobId, jobs: JobsDep, tenant: TenantDep, audit: AuditDep) -> Response:
    """Queued again with fresh attempts (409 `conflict` unless it failed); its row follows it live."""
    job = api_jobs.retry_job(job_id, jobs, tenant, Response(), audit)
    return render(request, "jobs.html", {"jobs": [job], "retried": job}, block="retried")
