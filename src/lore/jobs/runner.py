"""Running one delivered job: claim it in the store, keep its lease alive, record the outcome.

Delivery is at least once (a reaped job may arrive twice), so everything here is conditional on the store:
a delivery that cannot claim the job does nothing, and a worker that lost its lease stops at its next progress
report without writing an outcome.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import structlog

from lore.backends.store.job_records import JobRecords
from lore.bus import BusEvent
from lore.errors import Forbidden, InvalidInput, LoreError, NotFound
from lore.jobs.queue import REQUEST_ID
from lore.jobs.registry import kind
from lore.jobs.transport import Transport
from lore.models import Job

if TYPE_CHECKING:
    from lore.service import Lore

logger = logging.getLogger("lore.jobs")

RETRY_BASE_SECONDS = 2.0
MAX_RETRY_SECONDS = 300.0
PROGRESS_EVERY_SECONDS = 0.2
WEBHOOK_JOB = "webhook_delivery"
PERMANENT = (InvalidInput, NotFound, Forbidden)  # the same input fails the same way: retrying only delays it


class LeaseLost(Exception):
    """Another worker took the job over (this one stalled past its lease): stop without an outcome."""


def retry_delay(attempt: int, base: float = RETRY_BASE_SECONDS) -> float:
    """Exponential backoff: base, 2·base, 4·base ... after attempts 1, 2, 3 ..., capped."""
    return min(base * 2 ** (attempt - 1), MAX_RETRY_SECONDS)


def error_record(error: BaseException, attempt: int) -> dict[str, Any]:
    code = error.code if isinstance(error, LoreError) else "internal_error"
    message = error.message if isinstance(error, LoreError) else f"{type(error).__name__}: {error}"
    return {"code": code, "message": message, "attempt": attempt}


class Lease:
    """Holds a claimed job's lease: a heartbeat thread renews it, `progress` records how far the job got."""

    def __init__(self, records: JobRecords, job: Job, seconds: float) -> None:
        self.records = records
        self.job = job
        self.owner = job.lease_owner or ""
        self.seconds = seconds
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._last_report = 0.0
        self._thread = threading.Thread(target=self._beat, name=f"lore-lease-{job.id[:8]}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                if not self.records.renew(self.job.id, self.owner, self.seconds):
                    self.lost.set()
                    return
            except Exception:  # a store hiccup: the next beat tries again before the lease runs out
                logger.warning("renewing the lease of job %s failed", self.job.id, exc_info=True)

    def progress(self, done: int, total: int) -> None:
        if self.lost.is_set():
            raise LeaseLost(self.job.id)
        now = time.monotonic()
        if done not in (0, total) and now - self._last_report < PROGRESS_EVERY_SECONDS:
            return
        self._last_report = now
        if not self.records.renew(self.job.id, self.owner, self.seconds, (done, total)):
            self.lost.set()
            raise LeaseLost(self.job.id)


class Runner:
    """Runs the jobs delivered to this process, with its own `Lore`."""

    def __init__(
        self,
        lore: Lore,
        records: JobRecords,
        transport: Transport,
        *,
        lease_seconds: float,
        retry_base: float = RETRY_BASE_SECONDS,
    ) -> None:
        self.lore = lore
        self.records = records
        self.transport = transport
        self.lease_seconds = lease_seconds
        self.retry_base = retry_base
        # host:pid names the process for operators; the token tells this runner's leases from a restarted one's
        self.owner_prefix = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}/"

    def __call__(self, job_id: str) -> None:
        self.run(job_id)

    def run(self, job_id: str) -> Job | None:
        """Claim and run one job; None when this delivery had nothing to do. Its log lines carry its id and
        the id of the request that submitted it."""
        owner = self.owner_prefix + uuid.uuid4().hex[:8]
        job = self.records.claim(job_id, owner, self.lease_seconds)
        if job is None:
            logger.debug("job %s: nothing to do for this delivery", job_id)
            return None
        context = {"job_id": job.id, "request_id": job.params.get(REQUEST_ID)}
        with structlog.contextvars.bound_contextvars(**{k: v for k, v in context.items() if v is not None}):
            return self._run(job, owner)

    def _run(self, job: Job, owner: str) -> Job | None:
        logger.info("job %s (%s): attempt %d of %d", job.id, job.kind, job.attempts, job.max_attempts)
        start = time.perf_counter()
        with Lease(self.records, job, self.lease_seconds) as lease:
            try:
                result = kind(job.kind).run(self.lore, dict(job.params), lease.progress)
            except LeaseLost:
                logger.warning("job %s: lease lost to another worker; stopping", job.id)
                return None
            except Exception as error:
                return self._failed(job, owner, error, start)
        try:
            recorded = self.records.succeed(job.id, owner, result)
        except Exception as error:  # e.g. a result that is not JSON
            return self._failed(job, owner, error, start)
        self.lore.probes.job_finished(job.kind, "succeeded", time.perf_counter() - start)
        if not recorded:
            logger.warning(
                "job %s: finished after its lease was lost; the other worker's outcome stands", job.id
            )
            return None
        return self.records.get(job.tenant_id, job.id)

    def _failed(self, job: Job, owner: str, error: Exception, start: float) -> Job | None:
        permanent = isinstance(error, PERMANENT) or job.attempts >= job.max_attempts
        spec = kind(job.kind)
        base = spec.retry_base(self.lore.settings) if spec.retry_base else self.retry_base
        delay = None if permanent else retry_delay(job.attempts, base)
        outcome = "failed" if permanent else "retried"
        self.lore.probes.job_finished(job.kind, outcome, time.perf_counter() - start)
        logger.warning("job %s: attempt %d failed (%s)", job.id, job.attempts, error, exc_info=not permanent)
        updated = self.records.fail(job.id, owner, error_record(error, job.attempts), delay)
        if updated is not None and delay is None:
            self._announce(updated)
        if updated is not None and delay is not None:
            try:
                self.transport.send(job.id, delay)
            except Exception:  # the reaper delivers it once it is overdue
                logger.warning("job %s: could not schedule the retry", job.id, exc_info=True)
        return updated

    def _announce(self, job: Job) -> None:
        """A job that failed for good is an event (a webhook delivery's failure is in its own log instead)."""
        if job.kind == WEBHOOK_JOB:
            return
        data = {"job_id": job.id, "kind": job.kind, "attempts": job.attempts, "error": job.error}
        self.lore.bus.publish(BusEvent("job.failed", job.tenant_id, data))
        if job.kind == "ingest":
            self.lore.bus.publish(BusEvent("ingest.failed", job.tenant_id, data))

    def release(self) -> list[Job]:
        """Stopping: hand this runner's unfinished jobs back to the queue for another worker."""
        released = self.records.release(self.owner_prefix)
        for job in released:
            try:
                self.transport.send(job.id)
            except Exception:
                logger.warning("job %s: could not hand it back to the queue", job.id, exc_info=True)
        return released
