"""`lore worker` and `lore jobs` as an operator runs them: real processes on a real data dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lore.jobs import open_queue
from lore.wire.schemas import JobOut, JobPage
from tests.jobs.conftest import make_settings
from tests.waiting import PATIENCE

LORE = [sys.executable, "-m", "lore"]


@pytest.fixture
def env(tmp_path: Path, model_cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LORE_DATA_DIR": str(tmp_path / "data"),
        "LORE_MODEL_CACHE_DIR": str(model_cache),
        "LORE_EMBED_THREADS": "1",
        "LORE_MAX_DOCUMENT_CHARS": "200",
        "COLUMNS": "200",  # room for whole job ids in the table
    }


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen([*LORE, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()
    log.close()


def lore(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LORE, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def submit(tmp_path: Path, model_cache: Path, text: str) -> str:
    with open_queue(make_settings(tmp_path / "data", model_cache, None)) as queue:
        return queue.submit("ingest", {"documents": [{"title": "Note", "text": text}]}).id


def test_a_worker_process_runs_jobs_and_the_cli_shows_and_retries_them(
    tmp_path: Path, model_cache: Path, env: dict[str, str], worker: subprocess.Popen[str]
) -> None:
    good = submit(tmp_path, model_cache, "Refunds reach your card in five business days.")
    bad = submit(tmp_path, model_cache, "far too long " * 50)
    shown = lore("jobs", "show", good, "--wait", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    job = json.loads(shown.stdout)
    assert JobOut.model_validate(job).model_dump(mode="json") == job  # the API's shape, `updated_at` included
    assert (job["state"], job["progress"], job["result"]["documents"]) == (
        "succeeded",
        {"done": 1, "total": 1},
        1,
    )
    failed = lore("jobs", "show", bad, "--wait", "--json", env=env)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["error"]["code"] == "payload_too_large"
    retried = lore("jobs", "retry", bad, "--json", env=env)
    assert retried.returncode == 0 and json.loads(retried.stdout)["state"] == "queued"
    refused = lore("jobs", "retry", good, env=env)
    assert refused.returncode == 2 and "error [conflict]" in refused.stderr
    listed = json.loads(lore("jobs", "list", "--json", env=env).stdout)
    assert JobPage.model_validate(listed).model_dump(mode="json") == listed
    assert {item["id"] for item in listed["items"]} == {good, bad}
    table = lore("jobs", "list", env=env).stdout
    assert good[:12] in table and bad[:12] in table and "ingest" in table  # ids as far as they are needed


def test_the_worker_stops_cleanly_on_sigterm(
    tmp_path: Path, model_cache: Path, worker: subprocess.Popen[str]
) -> None:
    job_id = submit(tmp_path, model_cache, "Parcels ship within two days.")
    with open_queue(make_settings(tmp_path / "data", model_cache, None)) as queue:
        assert queue.wait(job_id, timeout=120).state == "succeeded"
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=PATIENCE) == 0
    log = (tmp_path / "worker.log").read_text()
    assert "Lore worker: 1 thread(s) on the sqlite queue" in log and "Consumer exiting" in log


def test_unknown_jobs_are_a_clear_error(env: dict[str, str]) -> None:
    lore("migrate", env=env)
    missing = lore("jobs", "show", "nope", env=env)
    assert missing.returncode == 2 and "error [not_found]: no job 'nope'" in missing.stderr
