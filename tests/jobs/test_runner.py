"""Running delivered jobs with a real Lore: outcomes, retries with backoff, lost leases, idempotent ingestion."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from lore.config import Settings
from lore.errors import InvalidInput
from lore.jobs import JobQueue, ReportProgress
from lore.jobs.runner import MAX_RETRY_SECONDS, Runner, retry_delay
from lore.models import utcnow
from lore.service import Lore

DOCS = [
    {
        "title": "Refunds",
        "text": "# Refunds\n\nRefunds reach your card in five business days.",
        "source": "kb:1",
    },
    {
        "title": "Passwords",
        "text": "# Passwords\n\nReset your password from the Security page.",
        "source": "kb:2",
    },
    {"title": "Invoices", "text": "# Invoices\n\nInvoices are emailed on the first day of the month."},
]


@pytest.fixture
def lore(job_settings: Settings, store: object) -> Iterator[Lore]:
    with Lore.open(job_settings) as service:
        yield service


@pytest.fixture
def runner(lore: Lore, queue: JobQueue) -> Runner:
    return Runner(lore, queue.records, queue.transport, lease_seconds=5, retry_base=1.5)


def flaky(failures: int) -> Any:
    """A kind that fails its first `failures` runs, reporting progress each time."""
    calls: list[dict[str, Any]] = []

    def run(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
        calls.append(params)
        progress(1, 2)
        if len(calls) <= failures:
            raise RuntimeError(f"flaky failure {len(calls)}")
        return {"calls": len(calls)}

    return run, calls


def test_backoff_doubles_from_the_base_and_is_capped() -> None:
    assert [retry_delay(n, 1.5) for n in (1, 2, 3, 4)] == [1.5, 3.0, 6.0, 12.0]
    assert retry_delay(40) == MAX_RETRY_SECONDS


def test_a_failed_attempt_is_kept_and_retried_with_backoff(
    runner: Runner, queue: JobQueue, register: Any
) -> None:
    run, calls = flaky(failures=1)
    register("test_flaky", run)
    job = queue.submit("test_flaky", {"x": 1}, tenant_id="acme")
    first = runner.run(job.id)
    assert first is not None and (first.state, first.attempts) == ("queued", 1)
    assert first.error is not None
    assert first.error == {"code": "internal_error", "message": "RuntimeError: flaky failure 1", "attempt": 1}
    wait = (first.due_at - utcnow()).total_seconds()
    assert 1.0 < wait <= 1.5  # retry_base=1.5 after the first attempt
    assert queue.transport.huey.scheduled_count() + queue.transport.pending() == 2  # submit + delayed retry
    second = runner.run(job.id)
    assert second is not None and (second.state, second.attempts) == ("succeeded", 2)
    assert (second.result, second.error, second.progress_done, second.progress_total) == (
        {"calls": 2},
        None,
        1,
        2,
    )
    assert calls == [{"x": 1, "tenant_id": "acme"}] * 2
    assert runner.run(job.id) is None  # a late duplicate delivery changes nothing
    assert len(calls) == 2


def test_a_job_that_keeps_failing_ends_failed_and_can_be_retried(
    runner: Runner, queue: JobQueue, register: Any
) -> None:
    run, calls = flaky(failures=3)
    register("test_flaky", run)
    job = queue.submit("test_flaky", {})
    outcomes = [runner.run(job.id) for _ in range(3)]
    assert [o.state for o in outcomes if o] == ["queued", "queued", "failed"]
    failed = queue.get(job.id)
    assert failed.error is not None and failed.error["attempt"] == 3 and failed.finished_at is not None
    assert runner.run(job.id) is None and len(calls) == 3
    queue.retry(job.id)
    done = runner.run(job.id)
    assert done is not None and (done.state, done.attempts, done.result) == ("succeeded", 1, {"calls": 4})


def test_bad_input_fails_at_once_without_retries(runner: Runner, queue: JobQueue, register: Any) -> None:
    def reject(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
        raise InvalidInput("no such collection", details={"collection": "x"})

    register("test_reject", reject)
    job = queue.submit("test_reject", {})
    failed = runner.run(job.id)
    assert failed is not None and (failed.state, failed.attempts) == ("failed", 1)
    assert failed.error == {"code": "invalid_input", "message": "no such collection", "attempt": 1}


def test_a_worker_that_lost_its_lease_stops_without_an_outcome(
    runner: Runner, queue: JobQueue, register: Any
) -> None:
    seen: list[str] = []

    def stalls(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
        progress(0, 2)
        queue.records.release(runner.owner_prefix)  # as if the lease ran out and another worker took it
        seen.append("released")
        progress(2, 2)  # reports are throttled, except the first and the last
        seen.append("kept going")
        return {"done": True}

    register("test_stalls", stalls)
    job = queue.submit("test_stalls", {})
    assert runner.run(job.id) is None
    assert seen == ["released"]
    current = queue.get(job.id)
    assert (current.state, current.result, current.lease_owner) == ("queued", None, None)


def test_ingestion_writes_each_document_once_even_when_run_again(
    runner: Runner, queue: JobQueue, lore: Lore, job_settings: Settings
) -> None:
    job = queue.submit("ingest", {"documents": DOCS}, tenant_id="acme")
    done = runner.run(job.id)
    assert done is not None and done.state == "succeeded"
    assert done.result is not None and done.result["documents"] == 3
    assert (done.progress_done, done.progress_total) == (3, 3)
    chunks_before = _chunk_rows(lore)
    again = queue.submit("ingest", {"documents": DOCS}, tenant_id="acme")  # a rerun, as after a crash
    assert runner.run(again.id) is not None
    page = lore.list_documents(tenant_id="acme", limit=10)
    assert sorted(d.title for d in page.items) == ["Invoices", "Passwords", "Refunds"]
    assert _chunk_rows(lore) == chunks_before and len(chunks_before) == 3
    assert lore.list_documents(limit=10).items == []  # the default tenant saw nothing


def _chunk_rows(lore: Lore) -> list[tuple[str, int]]:
    with lore.store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT document_id, position FROM chunks ORDER BY document_id, position")
        )
        return [(str(doc), int(pos)) for doc, pos in rows]


def test_rebuild_index_runs_as_a_job(runner: Runner, queue: JobQueue, lore: Lore) -> None:
    runner.run(queue.submit("ingest", {"documents": DOCS}).id)
    job = queue.submit("rebuild_index", {})
    done = runner.run(job.id)
    assert done is not None and (done.state, done.result) == ("succeeded", {"vectors": 3})
