"""`JobQueue`: what the API and the CLI call to submit, list, inspect, retry and wait for jobs.

>>> queue = JobQueue.over(db.jobs, settings)
>>> job = queue.submit("ingest", {"documents": [{"title": "Hi", "text": "Hello"}]}, tenant_id="default")
>>> queue.wait(job.id, tenant_id="default", timeout=60).state
'succeeded'
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lore.backends.store.job_records import JobRecords
from lore.config import Settings
from lore.errors import Conflict, InvalidInput, NotFound
from lore.jobs.registry import kind as job_kind
from lore.jobs.transport import Transport
from lore.logs import current_request_id
from lore.models import DEFAULT_TENANT, Job, JobState, Page
from lore.names import check_name
from lore.registry import create_store

logger = logging.getLogger("lore.jobs")
REQUEST_ID = "request_id"  # the parameter that carries the submitting request's id


class JobQueue:
    def __init__(self, records: JobRecords, transport: Transport, settings: Settings) -> None:
        self.records = records
        self.transport = transport
        self.settings = settings

    @classmethod
    def over(cls, jobs: JobRecords, settings: Settings) -> JobQueue:
        """A queue over the database's job records, carried by the transport the settings name."""
        return cls(jobs, Transport.from_settings(settings), settings)

    def close(self) -> None:
        self.transport.close()

    def submit(self, kind: str, params: Mapping[str, Any], *, tenant_id: str = DEFAULT_TENANT) -> Job:
        """Record the job durably, then send it; if the queue is down, the reaper sends it later. The id of the
        request submitting it goes with its parameters, so the job's log lines carry it too."""
        check_name("tenant", tenant_id)
        spec = job_kind(kind)
        full = {**params, "tenant_id": tenant_id}
        if (request_id := current_request_id()) is not None:
            full[REQUEST_ID] = request_id
        if spec.validate is not None:
            spec.validate(full)
        try:
            json.dumps(full, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise InvalidInput(f"job parameters must be JSON: {error}") from error
        attempts = spec.attempts(self.settings) if spec.attempts else self.settings.jobs.job_retries + 1
        job = self.records.insert(tenant_id, kind, full, attempts)
        self._send(job.id)
        return job

    def _send(self, job_id: str) -> None:
        try:
            self.transport.send(job_id)
        except Exception:
            logger.warning(
                "job %s: the queue is unreachable; it will be sent when it answers", job_id, exc_info=True
            )

    def get(self, job_id: str, *, tenant_id: str = DEFAULT_TENANT) -> Job:
        job = self.records.get(tenant_id, job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r}", details={"job_id": job_id})
        return job

    def list(
        self,
        *,
        tenant_id: str = DEFAULT_TENANT,
        limit: int = 50,
        cursor: str | None = None,
        state: JobState | None = None,
        kind: str | None = None,
    ) -> Page[Job]:
        """Newest first, a page at a time."""
        return self.records.list_jobs(tenant_id, limit, cursor, state=state, kind=kind)

    def retry(self, job_id: str, *, tenant_id: str = DEFAULT_TENANT) -> Job:
        """Queue a failed job again with fresh attempts."""
        job = self.records.retry(tenant_id, job_id)
        if job is None:
            current = self.get(job_id, tenant_id=tenant_id)
            raise Conflict(
                f"only a failed job can be retried; job {job_id!r} is {current.state}",
                details={"job_id": job_id, "state": current.state},
            )
        self._send(job.id)
        return job

    def wait(
        self,
        job_id: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        timeout: float | None = None,
        on_progress: Callable[[Job], None] | None = None,
        poll: float = 0.2,
    ) -> Job:
        """The job once it succeeded or failed, or as it stands when `timeout` seconds have passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        seen: tuple[object, ...] | None = None
        while True:
            job = self.get(job_id, tenant_id=tenant_id)
            state = (job.state, job.progress_done, job.progress_total, job.attempts)
            if on_progress is not None and state != seen:
                on_progress(job)
            seen = state
            if job.done or (deadline is not None and time.monotonic() >= deadline):
                return job
            time.sleep(poll)

    def readiness(self) -> dict[str, Any]:
        """What /readyz reports for jobs: the queue answers (else this raises its error), and how many jobs are
        in each state."""
        pending = self.transport.pending()
        return {"backend": self.transport.backend, "pending": pending, "jobs": self.records.counts()}


@contextmanager
def open_queue(settings: Settings) -> Iterator[JobQueue]:
    """A queue over the configured store alone, for commands that need no model or index."""
    db = create_store(settings)
    try:
        db.migrate()
        queue = JobQueue.over(db.jobs, settings)
        try:
            yield queue
        finally:
            queue.close()
    finally:
        db.close()
