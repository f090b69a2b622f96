"""Administration: backups of the whole installation, written into the server-side backup folder.

Restoring is not offered here: it needs an empty installation, never a store that is serving (`lore restore`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from lore.api.audit import AuditDep
from lore.api.deps import JobsDep, LoreDep, TenantDep
from lore.api.errors import ERROR_RESPONSES
from lore.backup import folder
from lore.backup.folder import ArchiveFile
from lore.wire.schemas import BackupCreated, BackupOut, BackupPage, JobOut

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=ERROR_RESPONSES)

BackupName = Annotated[str, Path(min_length=5, max_length=128, description="An archive's file name.")]


@router.post("/backups", status_code=201, responses={202: {"model": JobOut, "description": "Queued"}})
async def create_backup(
    response: Response,
    lore: LoreDep,
    jobs: JobsDep,
    tenant: TenantDep,
    audit: AuditDep,
    background: Annotated[bool, Query(description="Queue a `backup` job instead (202).")] = False,
) -> BackupCreated | JobOut:
    """Write a consistent snapshot of the store into the backup folder while Lore keeps serving; with
    `background=true`, a `backup` job does it (follow it at `Location`), for stores too big for one request.
    The folder keeps the newest `LORE_BACKUP_KEEP` archives; past its quota, 429 `quota_exceeded`."""
    if background:
        await run_in_threadpool(folder.check_quota, lore.settings)
        job = await run_in_threadpool(jobs.submit, "backup", {}, tenant_id=tenant)
        await run_in_threadpool(audit.record, "backup.queued", job.id)
        response.status_code = 202
        response.headers["Location"] = f"/v1/jobs/{job.id}"
        return JobOut.of(job)
    report = await run_in_threadpool(folder.write, lore.store, lore.settings)
    created = BackupCreated.of(report)
    summary = {"bytes": created.bytes, "last_seq": created.last_seq}
    await run_in_threadpool(audit.record, "backup.created", created.name, summary)
    return created


@router.get("/backups")
def list_backups(
    lore: LoreDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=128)] = None,
) -> BackupPage:
    """Archives newest first (names begin with their UTC creation time); follow `next_cursor`."""
    archives = folder.listing(lore.settings)
    if cursor is not None:
        archives = [item for item in archives if item.name < folder.check_archive_name(cursor)]
    page = archives[:limit]
    more = len(archives) > limit
    return BackupPage(items=[_out(item) for item in page], next_cursor=page[-1].name if more else None)


@router.get("/backups/{name}", response_class=FileResponse)
def download_backup(name: BackupName, lore: LoreDep, audit: AuditDep) -> FileResponse:
    """The archive itself, for `lore restore` on another machine."""
    path = folder.find(lore.settings, name)
    audit.record("backup.downloaded", target=path.name, summary={"bytes": path.stat().st_size})
    return FileResponse(path, media_type="application/x-tar", filename=path.name)


@router.delete("/backups/{name}", status_code=204)
def delete_backup(name: BackupName, lore: LoreDep) -> Response:
    """Delete an archive, making room under the backup folder's quota."""
    folder.delete(lore.settings, name)
    return Response(status_code=204)


def _out(item: ArchiveFile) -> BackupOut:
    return BackupOut(name=item.name, bytes=item.bytes, created_at=item.created_at)
