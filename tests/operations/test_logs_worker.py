"""`lore worker` as an operator runs it, its stderr a file: JSON lines, and a job's lines carry the id of the
request that submitted it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import structlog

from lore.config import Settings
from lore.jobs import open_queue
from tests.waiting import wait_for


def test_a_worker_writes_json_lines_with_the_job_and_its_request(tmp_path: Path, model_cache: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", model_cache_dir=model_cache)
    with open_queue(settings) as queue, structlog.contextvars.bound_contextvars(request_id="submitted-by-42"):
        job = queue.submit("ingest", {"documents": [{"title": "Note", "text": "Owls hunt at night."}]})
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORE_")}
    env |= {"LORE_DATA_DIR": str(tmp_path / "data"), "LORE_MODEL_CACHE_DIR": str(model_cache)}
    env |= {"LORE_EMBED_THREADS": "1", "LORE_PARSE_WORKERS": "1"}
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen([sys.executable, "-m", "lore", "worker"], env=env, stderr=out, text=True)
        try:
            with open_queue(settings) as queue:
                wait_for(lambda: queue.get(job.id).done, "the worker to run the job", poll=0.1)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
    lines = [json.loads(text) for text in log.read_text().splitlines() if text.startswith("{")]
    ran = [line for line in lines if line.get("job_id") == job.id and line["logger"] == "lore.jobs"]
    assert ran and all(line["request_id"] == "submitted-by-42" for line in ran), log.read_text()
    assert all({"timestamp", "level", "logger", "event"} <= set(line) for line in lines)
