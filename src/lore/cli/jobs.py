"""`lore jobs list|show|retry`: background jobs as the store records them (no model or index is loaded)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lore.cli.common import DataDir, JsonFlag, console, err_console, print_json, settings_for
from lore.jobs import Job, JobState, open_queue
from lore.wire.schemas import JobOut, JobPage

app = typer.Typer(help="Inspect and retry background jobs.", no_args_is_help=True)


def _progress(job: Job) -> str:
    return f"{job.progress_done}/{job.progress_total}" if job.progress_total else "-"


@app.command("list")
def list_jobs(
    state: Annotated[JobState | None, typer.Option(help="Only jobs in this state.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option(help="Jobs per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Cursor from a previous page.")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Newest first."""
    with open_queue(settings_for(data_dir)) as queue:
        page = queue.list(limit=limit, cursor=cursor, state=state, kind=kind)
    if as_json:
        listed = JobPage(items=[JobOut.of(job) for job in page.items], next_cursor=page.next_cursor)
        print_json(listed.model_dump(mode="json"))
        return
    table = Table("id", "kind", "state", "progress", "attempts", "created", "error")
    table.columns[0].no_wrap = True
    for job in page.items:
        error = (job.error or {}).get("message", "")
        created = job.created_at.isoformat(timespec="seconds")
        attempts = f"{job.attempts}/{job.max_attempts}"
        table.add_row(job.id, job.kind, job.state, _progress(job), attempts, created, error)
    console.print(table)
    if page.next_cursor:
        console.print(f"[dim]next page: --cursor {page.next_cursor}[/dim]")


@app.command("show")
def show(
    job_id: str,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job until it succeeds or fails.")] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """One job: state, progress, attempts, and its result or last error. Exits 1 if it failed."""
    with open_queue(settings_for(data_dir)) as queue:
        on_progress = None if as_json else _report
        job = queue.wait(job_id, on_progress=on_progress) if wait else queue.get(job_id)
    if as_json:
        print_json(JobOut.of(job).model_dump(mode="json"))
    else:
        _render(job)
    if job.state == "failed":
        raise typer.Exit(1)


def _report(job: Job) -> None:
    err_console.print(f"[dim]{job.state} {_progress(job)} (attempt {job.attempts})[/dim]")


def _render(job: Job) -> None:
    console.print(
        f"[bold]{job.id}[/bold] {job.kind}: {job.state}, progress {_progress(job)}, "
        f"attempt {job.attempts} of {job.max_attempts}"
    )
    if job.lease_owner:
        console.print(f"worker: {job.lease_owner}")
    if job.error:
        console.print(f"last error [{job.error.get('code')}]: {job.error.get('message')}")
    if job.result is not None:
        console.print(f"result: {job.result}")


@app.command("retry")
def retry(job_id: str, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Queue a failed job again with fresh attempts."""
    with open_queue(settings_for(data_dir)) as queue:
        job = queue.retry(job_id)
    if as_json:
        print_json(JobOut.of(job).model_dump(mode="json"))
    else:
        console.print(f"job {job.id} queued again")
