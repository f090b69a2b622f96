"""Worker threads inside a server process: jobs run as soon as they are submitted, retries come back after their
backoff, and stopping hands unfinished jobs back to the queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lore.config import Settings
from lore.core.retrieve import SearchRequest
from lore.jobs import ReportProgress
from lore.jobs.runtime import JobRuntime
from lore.models import SearchFilters
from lore.service import Lore
from tests.waiting import PATIENCE, wait_for


@pytest.fixture
def lore(job_settings: Settings) -> Iterator[Lore]:
    with Lore.open(job_settings) as service:
        yield service


@pytest.fixture
def runtime(lore: Lore) -> Iterator[JobRuntime]:
    instance = JobRuntime.for_lore(lore)
    instance.start()
    yield instance
    instance.stop()


def test_submitted_ingestion_runs_in_the_server_and_is_searchable(runtime: JobRuntime, lore: Lore) -> None:
    documents = [
        {"title": "Refunds", "text": "Refunds reach your card in five business days.", "tags": ["billing"]},
        {
            "title": "Passwords",
            "text": "Reset your password from the Security page.",
            "collection": "account",
        },
    ]
    job = runtime.queue.submit("ingest", {"documents": documents})
    seen: list[str] = []
    done = runtime.queue.wait(job.id, timeout=PATIENCE, on_progress=lambda j: seen.append(j.state))
    assert done.state == "succeeded", done.error
    assert seen[-1] == "succeeded" and done.result is not None and done.result["documents"] == 2
    hits = lore.search(SearchRequest("default", "reset my password", 3, "hybrid", None, SearchFilters()))
    assert hits[0].chunk.title == "Passwords" and hits[0].chunk.collection == "account"


def test_a_failed_attempt_comes_back_after_its_backoff(runtime: JobRuntime, register: Any) -> None:
    attempts: list[float] = []

    def flaky(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise ConnectionError("the model server hung up")
        return {"ok": True}

    register("test_flaky", flaky)
    job = runtime.queue.submit("test_flaky", {})
    done = runtime.queue.wait(job.id, timeout=PATIENCE)
    assert (done.state, done.attempts, done.result, done.error) == ("succeeded", 2, {"ok": True}, None)
    assert attempts[1] - attempts[0] >= 1.9  # the first retry waits RETRY_BASE_SECONDS


def test_stopping_hands_a_running_job_back_to_the_queue(lore: Lore, register: Any) -> None:
    started, release, released = threading.Event(), threading.Event(), threading.Event()
    outcome: list[str] = []

    def blocks(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
        progress(0, 1)
        started.set()
        release.wait(PATIENCE)
        released.set()
        try:
            progress(1, 1)
        except Exception as error:
            outcome.append(type(error).__name__)
            raise
        return {}

    register("test_blocks", blocks)
    runtime = JobRuntime.for_lore(lore)
    runtime.start()
    job = runtime.queue.submit("test_blocks", {})
    assert started.wait(PATIENCE)
    runtime.stop()  # waits up to a lease for the job, then hands it back
    assert not released.is_set()  # stopped while the job still ran: it did not wait for the job's end
    release.set()
    wait_for(lambda: outcome, "the job to learn it lost its lease")
    assert outcome == ["LeaseLost"]
    current = runtime.queue.get(job.id)  # the records live in the store, which stays open
    assert (current.state, current.attempts, current.lease_owner, current.result) == ("queued", 0, None, None)
