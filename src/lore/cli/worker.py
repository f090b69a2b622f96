"""`lore worker`: run background jobs from the configured queue, on this machine or any other."""

from __future__ import annotations

from typing import Annotated

import typer

from lore.cli.common import DataDir, check_data_dir, err_console, settings_for


def worker(
    threads: Annotated[int, typer.Option(min=1, help="Jobs this process runs at a time.")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Run background jobs until SIGTERM (finish running jobs, then stop) or Ctrl-C (hand them back now)."""
    from lore.jobs.runtime import run_worker
    from lore.jobs.transport import backend_name
    from lore.logs import configure
    from lore.service import Lore

    settings = settings_for(data_dir)
    check_data_dir(settings, create=True)
    configure(settings.logging)
    err_console.print(f"Lore worker: {threads} thread(s) on the {backend_name(settings)} queue")
    with Lore.open(settings) as lore:
        run_worker(lore, threads)
