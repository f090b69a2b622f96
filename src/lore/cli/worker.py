"""`lore worker`: run background jobs from the configured queue, on this machine or any other."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from lore.cli.common import DataDir, err_console, open_lore, settings_for
from lore.jobs.runtime import run_worker
from lore.jobs.transport import backend_name


def worker(
    threads: Annotated[int, typer.Option(min=1, help="Jobs this process runs at a time.")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Run background jobs until SIGTERM (finish running jobs, then stop) or Ctrl-C (hand them back now)."""
    if data_dir:
        os.environ["LORE_DATA_DIR"] = str(data_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    err_console.print(f"Lore worker: {threads} thread(s) on the {backend_name(settings_for(data_dir))} queue")
    with open_lore(data_dir) as lore:
        run_worker(lore, threads)
