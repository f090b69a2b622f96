"""The job lifecycle as the store records it, on SQLite and PostgreSQL: submit, claim, lease, outcome, reaping."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from lore.backends.store.job_records import JobRecords
from lore.errors import Conflict, InvalidInput, NotFound
from lore.jobs import JobQueue
from lore.jobs.reaper import Reaper
from lore.models import Job, utcnow
from tests.waiting import wait_for

DOCS = {"documents": [{"title": "Refunds", "text": "Refunds take five days."}]}


def outlive(moment: datetime) -> None:
    """Returns once the records' clock has passed the moment (a lease's end, a delivery falling due)."""
    wait_for(lambda: utcnow() > moment, f"the clock to pass {moment}", poll=0.01)


def lease_end(job: Job | None) -> datetime:
    assert job is not None and job.lease_expires_at is not None
    return job.lease_expires_at


def test_submit_records_a_queued_job_and_sends_it(queue: JobQueue) -> None:
    job = queue.submit("ingest", DOCS, tenant_id="acme")
    assert (job.state, job.attempts, job.max_attempts) == ("queued", 0, 3)  # job_retries=2: three attempts
    assert job.params == {**DOCS, "tenant_id": "acme"}
    assert job.created_at <= utcnow() and job.error is None and job.result is None
    assert queue.get(job.id, tenant_id="acme") == job
    assert queue.transport.pending() == 1


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("teleport", {}, "unknown job kind"),
        ("ingest", {"documents": []}, "1 to 1000"),
        ("ingest", {"documents": [{"title": "x"}]}, "non-empty `text`"),
        ("ingest", {"documents": [{"text": "x", "colour": "red"}]}, "unknown document fields"),
        ("ingest", {"documents": [{"text": "x", "tags": "one"}]}, "wrong type"),
        ("ingest", {"documents": [{"text": "x", "collection": "no spaces"}]}, "invalid collection"),
        ("ingest", {"documents": [{"text": "x", "metadata": {"n": float("nan")}}]}, "must be JSON"),
    ],
)
def test_bad_jobs_are_refused_before_they_are_queued(
    queue: JobQueue, kind: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        queue.submit(kind, params)
    assert queue.list().items == []
    assert queue.transport.pending() == 0


def test_a_job_is_claimed_once_and_a_duplicate_delivery_does_nothing(
    queue: JobQueue, records: JobRecords
) -> None:
    job = queue.submit("ingest", DOCS)
    claimed = records.claim(job.id, "worker-a", 30)
    assert claimed is not None
    assert (claimed.state, claimed.attempts, claimed.lease_owner) == ("running", 1, "worker-a")
    assert claimed.lease_expires_at is not None and claimed.lease_expires_at > utcnow() + timedelta(
        seconds=25
    )
    assert records.claim(job.id, "worker-b", 30) is None
    assert records.succeed(job.id, "worker-a", {"documents": 1})
    assert records.claim(job.id, "worker-b", 30) is None
    done = queue.get(job.id)
    assert (done.state, done.result, done.attempts, done.lease_owner) == (
        "succeeded",
        {"documents": 1},
        1,
        None,
    )
    assert done.finished_at is not None


def test_concurrent_deliveries_let_exactly_one_worker_claim(queue: JobQueue, records: JobRecords) -> None:
    job = queue.submit("ingest", DOCS)
    barrier = threading.Barrier(6)
    winners: list[str] = []

    def deliver(owner: str) -> None:
        barrier.wait()
        if records.claim(job.id, owner, 30) is not None:
            winners.append(owner)

    threads = [threading.Thread(target=deliver, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert queue.get(job.id).lease_owner == winners[0]


def test_an_expired_lease_passes_the_job_to_another_worker(queue: JobQueue, records: JobRecords) -> None:
    job = queue.submit("ingest", DOCS)
    outlive(lease_end(records.claim(job.id, "slow", 0.05)))
    taken = records.claim(job.id, "fast", 30)
    assert taken is not None and (taken.lease_owner, taken.attempts) == ("fast", 2)
    assert not records.renew(job.id, "slow", 30, (1, 2))  # the first worker learns it lost the job
    assert not records.succeed(job.id, "slow", {"stale": True})
    assert records.renew(job.id, "fast", 30, (1, 2))
    current = queue.get(job.id)
    assert (current.progress_done, current.progress_total, current.state) == (1, 2, "running")


def test_failed_attempts_are_queued_again_until_the_last_then_kept_failed(
    queue: JobQueue, records: JobRecords
) -> None:
    job = queue.submit("ingest", DOCS)
    for attempt in (1, 2):
        records.claim(job.id, "w", 30)
        retried = records.fail(job.id, "w", {"code": "boom", "message": "try again", "attempt": attempt}, 4.0)
        assert retried is not None and retried.state == "queued" and retried.lease_owner is None
        assert retried.due_at > utcnow() + timedelta(seconds=3)
        assert retried.error == {"code": "boom", "message": "try again", "attempt": attempt}
    records.claim(job.id, "w", 30)
    failed = records.fail(job.id, "w", {"code": "boom", "message": "gave up", "attempt": 3}, None)
    assert failed is not None and (failed.state, failed.attempts) == ("failed", 3)
    assert records.claim(job.id, "w", 30) is None  # no attempts left, nothing to run


def test_a_failed_job_can_be_retried_and_keeps_its_error(queue: JobQueue, records: JobRecords) -> None:
    job = queue.submit("ingest", DOCS)
    records.claim(job.id, "w", 30)
    records.fail(job.id, "w", {"code": "invalid_input", "message": "bad", "attempt": 1}, None)
    before = queue.transport.pending()
    again = queue.retry(job.id)
    assert (again.state, again.attempts, again.finished_at) == ("queued", 0, None)
    assert again.error == {"code": "invalid_input", "message": "bad", "attempt": 1}
    assert queue.transport.pending() == before + 1
    with pytest.raises(Conflict, match="only a failed job"):
        queue.retry(job.id)
    claimed = records.claim(job.id, "w", 30)
    assert claimed is not None and claimed.attempts == 1
    assert records.succeed(job.id, "w", {})
    assert queue.get(job.id).error is None


def test_unknown_and_foreign_jobs_are_not_found(queue: JobQueue) -> None:
    job = queue.submit("ingest", DOCS, tenant_id="acme")
    for job_id, tenant in (("nope", "acme"), (job.id, "other")):
        with pytest.raises(NotFound):
            queue.get(job_id, tenant_id=tenant)
        with pytest.raises(NotFound):
            queue.retry(job_id, tenant_id=tenant)
    assert queue.list(tenant_id="other").items == []


def test_the_reaper_requeues_jobs_of_dead_workers_and_fails_them_when_out_of_attempts(
    queue: JobQueue, records: JobRecords
) -> None:
    reaper = Reaper(records, queue.transport, lease_seconds=0.05, redeliver_after=60)
    lost = queue.submit("ingest", DOCS)
    exhausted = queue.submit("ingest", DOCS)
    healthy = queue.submit("ingest", DOCS)
    dead = records.claim(lost.id, "dead", 0.05)
    for _ in range(3):
        outlive(lease_end(records.claim(exhausted.id, "dead", 0.05)))
    records.claim(healthy.id, "alive", 30)
    outlive(lease_end(dead))
    pending = queue.transport.pending()
    assert [job.id for job in reaper.reap()] == [lost.id]
    assert queue.transport.pending() == pending + 1
    requeued = queue.get(lost.id)
    assert (requeued.state, requeued.attempts, requeued.lease_owner) == ("queued", 1, None)
    assert requeued.error == {
        "code": "worker_lost",
        "message": "the worker running this job stopped reporting",
        "attempt": 1,
    }
    gone = queue.get(exhausted.id)
    assert (gone.state, gone.attempts) == ("failed", 3)
    assert gone.error is not None and (gone.error["code"], gone.error["attempt"]) == ("worker_lost", 3)
    assert queue.get(healthy.id).state == "running"
    assert reaper.reap() == []  # handed back once, however many reapers look


def test_the_reaper_sends_again_a_queued_job_whose_delivery_is_overdue(
    queue: JobQueue, records: JobRecords
) -> None:
    job = queue.submit("ingest", DOCS)
    patient = Reaper(records, queue.transport, lease_seconds=1, redeliver_after=60)
    eager = Reaper(records, queue.transport, lease_seconds=1, redeliver_after=0.05)
    assert patient.reap() == []
    outlive(job.due_at + timedelta(seconds=0.05))
    before = utcnow()
    assert [j.id for j in eager.reap()] == [job.id]
    assert (
        queue.get(job.id).due_at >= before
    )  # sent again now: due again only after another `redeliver_after`
    assert queue.transport.pending() == 2


def test_jobs_are_listed_newest_first_a_page_at_a_time(queue: JobQueue, records: JobRecords) -> None:
    ids = [queue.submit("ingest", DOCS).id for _ in range(5)]
    queue.submit("ingest", DOCS, tenant_id="other")
    first = queue.list(limit=2)
    second = queue.list(limit=2, cursor=first.next_cursor)
    third = queue.list(limit=2, cursor=second.next_cursor)
    assert [j.id for j in first.items + second.items + third.items] == ids[::-1]
    assert third.next_cursor is None
    records.claim(ids[0], "w", 30)
    assert [j.id for j in queue.list(state="running").items] == [ids[0]]
    assert queue.list(kind="rebuild_index").items == []
    assert queue.records.counts() == {"queued": 5, "running": 1, "succeeded": 0, "failed": 0}
    with pytest.raises(InvalidInput):
        queue.list(cursor="not a cursor")
    with pytest.raises(InvalidInput):
        queue.list(limit=0)
