"""`JobRecords`, the database's `jobs` repository: the source of truth for every job's state, whatever queue
carries it.

Each state change is one conditional UPDATE, so it is atomic on SQLite and PostgreSQL alike: a worker claims a
job only if it is queued (or its lease expired), and finishes it only while it still holds the lease. A second
delivery of the same job, or a worker that lost its lease, therefore changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from lore.backends.store import paging
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import jobs
from lore.models import JOB_STATES, Job, JobState, Page, utcnow

_RUNNING = jobs.c.state == "running"


def _job(row: AnyRow) -> Job:
    return Job(**row._mapping)


class JobRecords:
    """Reads and conditional writes of the `jobs` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _update(self, statement: sa.Update) -> list[Job]:
        with self.engine.begin() as conn:
            return [_job(row) for row in conn.execute(statement.returning(*jobs.c))]

    # --- creating and reading ----------------------------------------------------------------------------

    def insert(self, tenant_id: str, kind: str, params: Mapping[str, Any], max_attempts: int) -> Job:
        now = utcnow()
        row = {
            "id": uuid.uuid4().hex,
            "tenant_id": tenant_id,
            "kind": kind,
            "params": dict(params),
            "state": "queued",
            "progress_done": 0,
            "progress_total": 0,
            "attempts": 0,
            "max_attempts": max_attempts,
            "due_at": now,
            "created_at": now,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            return _job(conn.execute(sa.insert(jobs).values(row).returning(*jobs.c)).one())

    def get(self, tenant_id: str, job_id: str) -> Job | None:
        query = sa.select(jobs).where(jobs.c.id == job_id, jobs.c.tenant_id == tenant_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _job(row) if row is not None else None

    def list_jobs(
        self,
        tenant_id: str,
        limit: int,
        cursor: str | None = None,
        *,
        state: JobState | None = None,
        kind: str | None = None,
    ) -> Page[Job]:
        """Newest first; `cursor` is the `next_cursor` of the previous page."""
        query = sa.select(jobs).where(jobs.c.tenant_id == tenant_id)
        if state is not None:
            query = query.where(jobs.c.state == state)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        query = paging.newest_first(query, jobs, limit, cursor)
        with self.engine.connect() as conn:
            return paging.page([_job(row) for row in conn.execute(query)], limit)

    def counts(self) -> dict[str, int]:
        """Jobs per state, over every tenant: what /readyz and operators watch."""
        query = sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state)
        with self.engine.connect() as conn:
            found = {str(state): int(n) for state, n in conn.execute(query)}
        return {state: found.get(state, 0) for state in JOB_STATES}

    # --- a worker's writes -------------------------------------------------------------------------------

    def claim(self, job_id: str, owner: str, lease_seconds: float) -> Job | None:
        """Take the job if it is queued, or running under an expired lease; None if someone else has it,
        it is finished, or it has used up its attempts."""
        now = utcnow()
        claimable = sa.or_(jobs.c.state == "queued", sa.and_(_RUNNING, jobs.c.lease_expires_at < now))
        statement = (
            sa.update(jobs)
            .where(jobs.c.id == job_id, claimable, jobs.c.attempts < jobs.c.max_attempts)
            .values(
                state="running",
                attempts=jobs.c.attempts + 1,
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                started_at=now,
                updated_at=now,
            )
        )
        claimed = self._update(statement)
        return claimed[0] if claimed else None

    def _held(self, job_id: str, owner: str) -> sa.Update:
        return sa.update(jobs).where(jobs.c.id == job_id, _RUNNING, jobs.c.lease_owner == owner)

    def renew(
        self, job_id: str, owner: str, lease_seconds: float, progress: tuple[int, int] | None = None
    ) -> bool:
        """Extend the lease (and record progress); False when the lease was lost to another worker."""
        now = utcnow()
        values: dict[str, Any] = {
            "lease_expires_at": now + timedelta(seconds=lease_seconds),
            "updated_at": now,
        }
        if progress is not None:
            values.update(progress_done=progress[0], progress_total=progress[1])
        return bool(self._update(self._held(job_id, owner).values(values)))

    def succeed(self, job_id: str, owner: str, result: Mapping[str, Any]) -> bool:
        now = utcnow()
        values = {
            **_released(now),
            "state": "succeeded",
            "result": dict(result),
            "error": None,
            "finished_at": now,
        }
        return bool(self._update(self._held(job_id, owner).values(values)))

    def fail(self, job_id: str, owner: str, error: Mapping[str, Any], retry_in: float | None) -> Job | None:
        """Record a failed attempt: queued again after `retry_in` seconds, or failed for good when None."""
        now = utcnow()
        values: dict[str, Any] = {**_released(now), "error": dict(error)}
        if retry_in is None:
            values.update(state="failed", finished_at=now)
        else:
            values.update(state="queued", due_at=now + timedelta(seconds=retry_in))
        changed = self._update(self._held(job_id, owner).values(values))
        return changed[0] if changed else None

    def release(self, owner_prefix: str) -> list[Job]:
        """Hand the running jobs of a stopping worker back to the queue, attempt not counted."""
        now = utcnow()
        statement = (
            sa.update(jobs)
            .where(_RUNNING, jobs.c.lease_owner.startswith(owner_prefix, autoescape=True))
            .values(**_released(now), state="queued", due_at=now, attempts=jobs.c.attempts - 1)
        )
        return self._update(statement)

    # --- recovery and operators --------------------------------------------------------------------------

    def reap(self, redeliver_after: float) -> list[Job]:
        """Jobs to deliver again: running ones whose worker stopped renewing its lease (queued again, or failed
        when out of attempts), and queued ones whose delivery is overdue by `redeliver_after` seconds."""
        now = utcnow()
        expired = sa.and_(_RUNNING, jobs.c.lease_expires_at < now)
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(jobs.c.id, jobs.c.attempts, jobs.c.max_attempts).where(expired)
            ).all()
        requeued = [
            job for row in found for job in self._hand_back(row.id, row.attempts, row.max_attempts, now)
        ]
        overdue = sa.and_(jobs.c.state == "queued", jobs.c.due_at < now - timedelta(seconds=redeliver_after))
        return requeued + self._update(sa.update(jobs).where(overdue).values(due_at=now, updated_at=now))

    def _hand_back(self, job_id: str, attempts: int, max_attempts: int, now: datetime) -> list[Job]:
        """Queue again (or fail, when out of attempts) one job whose lease expired, unless it was claimed anew."""
        lost = {
            "code": "worker_lost",
            "message": "the worker running this job stopped reporting",
            "attempt": attempts,
        }
        values: dict[str, Any] = {**_released(now), "error": lost}
        if attempts >= max_attempts:
            values.update(state="failed", finished_at=now)
        else:
            values.update(state="queued", due_at=now)
        still_expired = sa.and_(jobs.c.id == job_id, _RUNNING, jobs.c.lease_expires_at < now)
        changed = self._update(sa.update(jobs).where(still_expired).values(values))
        return [job for job in changed if job.state == "queued"]

    def retry(self, tenant_id: str, job_id: str) -> Job | None:
        """A failed job queued again with fresh attempts; its last error stays until it succeeds."""
        now = utcnow()
        statement = (
            sa.update(jobs)
            .where(jobs.c.id == job_id, jobs.c.tenant_id == tenant_id, jobs.c.state == "failed")
            .values(state="queued", attempts=0, due_at=now, finished_at=None, updated_at=now)
        )
        changed = self._update(statement)
        return changed[0] if changed else None


def _released(now: datetime) -> dict[str, Any]:
    return {"lease_owner": None, "lease_expires_at": None, "updated_at": now}
