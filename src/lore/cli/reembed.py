"""`lore reembed --collection C --model M`: re-embed a collection with another model while it keeps serving.

By default the work runs in this process, with a progress bar; `--background` hands it to the job queue (a
`lore serve` or `lore worker` on any machine runs it) and follows the job until it succeeds or fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lore.cli.common import (
    Collection,
    DataDir,
    JsonFlag,
    err_console,
    open_lore,
    open_store,
    print_json,
    settings_for,
)
from lore.jobs import Job, open_queue
from lore.models import DEFAULT_TENANT
from lore.security.audit import AuditLog
from lore.security.principal import operator

Model = Annotated[
    str,
    typer.Option("--model", "-m", help="Embedding model: a backend name (`e5`, `minilm`) or a model id."),
]
Background = Annotated[bool, typer.Option("--background", help="Run it as a job on the queue and follow it.")]


def reembed(
    collection: Collection,
    model: Model,
    background: Background = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-embed a collection with another model; searches use the old one until the switch."""
    result = _in_background(collection, model, data_dir, as_json) if background else None
    if result is None:
        with open_lore(data_dir) as lore, _progress_bar(as_json) as on_progress:
            result = lore.reembed(collection=collection, model=model, on_progress=on_progress).as_dict()
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


def _in_background(collection: str, model: str, data_dir: Any, as_json: bool) -> dict[str, Any]:
    with open_queue(settings_for(data_dir)) as queue, _progress_bar(as_json) as on_progress:
        job = queue.submit("reembed", {"collection": collection, "model": model})
        if not as_json:
            err_console.print(f"job {job.id} queued")

        def follow(current: Job) -> None:
            if current.progress_total:
                on_progress(current.progress_done, current.progress_total)

        job = queue.wait(job.id, on_progress=follow)
    if job.state == "failed" or job.result is None:
        error = job.error or {}
        err_console.print(f"error [{error.get('code', 'job_failed')}]: {error.get('message', job.state)}")
        raise typer.Exit(2)
    return job.result


@contextmanager
def _progress_bar(disable: bool) -> Iterator[Callable[[int, int], None]]:
    bar = Progress(
        TextColumn("[bold]re-embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=disable,
    )
    task = bar.add_task("chunks", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update
