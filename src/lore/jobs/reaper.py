"""The reaper: every worker and every `lore serve` process runs one, so jobs outlive the processes running them.

A job whose worker stopped renewing its lease (killed, frozen, partitioned away) is queued again, and a queued
job whose delivery is long overdue (its message was lost with a killed consumer, or the queue was down when it
was sent) is sent again. Reapers on several machines may race: each change is a conditional UPDATE in the
store, so a job is handed back once, and a duplicate delivery only fails to claim it.
"""

from __future__ import annotations

import logging
import threading

from lore.backends.store.job_records import JobRecords
from lore.jobs.transport import Transport
from lore.models import Job

logger = logging.getLogger("lore.jobs")

MIN_REDELIVER_SECONDS = 60.0


class Reaper:
    def __init__(
        self,
        records: JobRecords,
        transport: Transport,
        *,
        lease_seconds: float,
        redeliver_after: float | None = None,
    ) -> None:
        self.records = records
        self.transport = transport
        self.lease_seconds = lease_seconds
        # a long backlog is not a lost message: wait well past a lease before sending a queued job twice
        self.redeliver_after = redeliver_after or max(2 * lease_seconds, MIN_REDELIVER_SECONDS)
        self.interval = min(max(lease_seconds / 3, 0.2), 10.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lore-job-reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.reap()
            except Exception:  # the store or the queue is briefly away: try again at the next tick
                logger.warning("reaping jobs failed", exc_info=True)

    def reap(self) -> list[Job]:
        """One pass: hand back expired and overdue jobs and send them; the jobs sent."""
        jobs = self.records.reap(self.redeliver_after)
        for job in jobs:
            logger.info("job %s: delivering again", job.id)
            self.transport.send(job.id)
        return jobs
