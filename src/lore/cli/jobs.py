"""`lore jobs list|show|retry`: background jobs as the store records them (no model or index is loaded)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lore.cli.common import DataDir, JsonFlag, check_data_dir, console, err_console, print_json, settings_for
from lore.cli.ids import resolve, short
from lore.cli.tables import listing, show, table, when
from lore.models import JobState

if TYPE_CHECKING:
    from lore.jobs import JobQueue
    from lore.models import Job

app = typer.Typer(help="Inspect and retry background jobs.", no_args_is_help=True)
JobId = Annotated[str, typer.Argument(help="A job's id, or a unique prefix of it.")]


@contextmanager
def _queue(data_dir: Path | None) -> Iterator[JobQueue]:
    from lore.jobs import open_queue

    settings = settings_for(data_dir)
    check_data_dir(settings, create=False)
    with open_queue(settings) as queue:
        yield queue


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
    """Newest first, with the first characters of each id (enough for `show` and `retry`)."""
    with _queue(data_dir) as queue:
        page = queue.list(limit=limit, cursor=cursor, state=state, kind=kind)
    if as_json:
        from lore.wire.schemas import JobOut, JobPage

        listed = JobPage(items=[JobOut.of(job) for job in page.items], next_cursor=page.next_cursor)
        print_json(listed.model_dump(mode="json"))
        return
    if not page.items and cursor is None:
        err_console.print("No jobs" + (" match" if state or kind else " yet") + ".")
        return
    grid = table("id", "kind", "state", "progress", "tries", "created", "error", flexible=("error",))
    for job in page.items:
        error = (job.error or {}).get("message", "")
        tries = f"{job.attempts}/{job.max_attempts}"
        grid.add_row(short(job.id), job.kind, job.state, _progress(job), tries, when(job.created_at), error)
    show(grid, console)
    if page.next_cursor:
        console.print(f"[dim]next page: --cursor {page.next_cursor}[/dim]")


@app.command("show")
def show_job(
    job_id: JobId,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job until it succeeds or fails.")] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """One job: state, progress, attempts, and its result or last error. Exits 1 if it failed."""
    from lore.wire.schemas import JobOut

    with _queue(data_dir) as queue:
        full_id = resolve(queue.records.engine, "job", job_id)
        on_progress = None if as_json else _report
        job = queue.wait(full_id, on_progress=on_progress) if wait else queue.get(full_id)
    if as_json:
        print_json(JobOut.of(job).model_dump(mode="json"))
    else:
        _render(job)
    if job.state == "failed":
        raise typer.Exit(1)


def _report(job: Job) -> None:
    err_console.print(f"[dim]{job.state} {_progress(job)} (attempt {job.attempts})[/dim]")


def _render(job: Job) -> None:
    console.print(f"[bold]{job.id}[/bold] {job.kind}: {job.state}", highlight=False)
    lines: list[tuple[str, Any]] = [
        ("progress", _progress(job)),
        ("attempt", f"{job.attempts} of {job.max_attempts}"),
        ("created", when(job.created_at)),
        ("worker", job.lease_owner),
    ]
    if job.error:
        lines.append(("last error", f"[{job.error.get('code')}] {job.error.get('message')}"))
    if job.result is not None:
        lines.append(("result", job.result if isinstance(job.result, dict) else json.dumps(job.result)))
    listing(console, {label: value for label, value in lines if value})


@app.command("retry")
def retry(job_id: JobId, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Queue a failed job again with fresh attempts."""
    from lore.wire.schemas import JobOut

    with _queue(data_dir) as queue:
        job = queue.retry(resolve(queue.records.engine, "job", job_id))
    if as_json:
        print_json(JobOut.of(job).model_dump(mode="json"))
    else:
        console.print(f"job {job.id} queued again", highlight=False)
