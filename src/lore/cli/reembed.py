"""`lore reembed --collection C --model M`: re-embed a collection with another model while it keeps serving.

By default the work runs in this process, with a progress bar; `--background` hands it to the job queue (a
`lore serve` or `lore worker` on any machine runs it) and follows the job until it succeeds or fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lore.cli.common import (
    Collection,
    DataDir,
    JsonFlag,
    Quiet,
    check_data_dir,
    err_console,
    open_lore,
    open_store,
    print_json,
    settings_for,
)
from lore.cli.progress import Reporter, reporting
from lore.models import DEFAULT_TENANT

if TYPE_CHECKING:
    from lore.models import Job

Model = Annotated[
    str,
    typer.Option("--model", "-m", help="Embedding model: a backend name (`e5`, `minilm`) or a model id."),
]
Background = Annotated[bool, typer.Option("--background", help="Run it as a job on the queue and follow it.")]


def reembed(
    collection: Collection,
    model: Model,
    background: Background = False,
    quiet: Quiet = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-embed a collection with another model; searches use the old one until the switch."""
    from lore.security.audit import AuditLog
    from lore.security.principal import operator

    result = _in_background(collection, model, data_dir, quiet or as_json) if background else None
    if result is None:
        with open_lore(data_dir) as lore, reporting(quiet or as_json) as report:
            done = lore.reembed(collection=collection, model=model, on_progress=_steps(report))
            result = done.as_dict()
    with open_store(data_dir) as db:
        summary = {name: result.get(name) for name in ("model", "previous_model", "switched", "embedded")}
        actor = operator(DEFAULT_TENANT).actor
        AuditLog(db.audit).record(DEFAULT_TENANT, actor, "collection.reembedded", collection, summary)
    if as_json:
        print_json(result)
    elif result["switched"]:
        err_console.print(
            f"{collection}: switched to {result['model']} ({result['embedded']} texts embedded "
            f"in {result['seconds']:.1f}s); the vectors of {result['previous_model']} are dropped"
        )
    else:
        err_console.print(f"{collection}: already embedded with {result['model']}")


def _in_background(collection: str, model: str, data_dir: Any, quiet: bool) -> dict[str, Any]:
    from lore.jobs import open_queue

    settings = settings_for(data_dir)
    check_data_dir(settings, create=False)
    with open_queue(settings) as queue, reporting(quiet) as report:
        job = queue.submit("reembed", {"collection": collection, "model": model})
        if not quiet:
            err_console.print(f"job {job.id} queued")
        on_progress = _steps(report)

        def follow(current: Job) -> None:
            if current.progress_total:
                on_progress(current.progress_done, current.progress_total)

        job = queue.wait(job.id, on_progress=follow)
    if job.state == "failed" or job.result is None:
        error = job.error or {}
        err_console.print(f"error [{error.get('code', 'job_failed')}]: {error.get('message', job.state)}")
        raise typer.Exit(2)
    return job.result


def _steps(report: Reporter) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        report("re-embedding", done / total if total else None, f"{done}/{total} chunks")

    return update
