"""Where jobs run: worker threads inside `lore serve`, or a `lore worker` process on any machine.

Both consume the same huey queue with the same `Runner`, and both run a `Reaper` and a `Scheduler` (due
sources' syncs). Only `lore worker` lets huey
install its signal handlers (SIGTERM: finish the running jobs, up to a lease, then hand the rest back; SIGINT:
hand them back now), since signal handlers can only be set from a process's main thread.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from huey.consumer import Consumer

from lore.jobs.queue import JobQueue
from lore.jobs.reaper import Reaper
from lore.jobs.runner import Runner
from lore.jobs.schedule import standard

if TYPE_CHECKING:
    from lore.service import Lore

logger = logging.getLogger("lore.jobs")

IDLE_POLL_SECONDS = 0.5  # longest wait of an idle worker on a queue that cannot block (SQLite)


class EmbeddedConsumer(Consumer):
    """Huey's consumer without signal handlers: it runs beside a server that owns them."""

    def _set_signal_handlers(self) -> None:
        return None


def _consumer(queue: JobQueue, threads: int, consumer_class: type[Consumer]) -> Consumer:
    return consumer_class(
        queue.transport.huey,
        workers=threads,
        worker_type="thread",
        periodic=False,
        max_delay=IDLE_POLL_SECONDS,
        graceful_signal="TERM",
        shutdown_timeout=queue.settings.jobs.job_lease_seconds,
        check_worker_health=True,
    )


class JobRuntime:
    """The jobs side of a server process: its `JobQueue`, a reaper, and `threads` embedded workers."""

    def __init__(self, lore: Lore, queue: JobQueue, threads: int) -> None:
        self.queue = queue
        lease = queue.settings.jobs.job_lease_seconds
        self.reaper = Reaper(queue.records, queue.transport, lease_seconds=lease)
        self.runner = Runner(lore, queue.records, queue.transport, lease_seconds=lease) if threads else None
        self.consumer = _consumer(queue, threads, EmbeddedConsumer) if threads else None
        self.scheduler = standard(lore, queue)

    @classmethod
    def for_lore(cls, lore: Lore, threads: int | None = None) -> JobRuntime:
        threads = lore.settings.jobs.worker_threads if threads is None else threads
        return cls(lore, JobQueue.over(lore.store.jobs, lore.settings), threads)

    def start(self) -> None:
        if self.runner is not None and self.consumer is not None:
            self.queue.transport.receiver = self.runner
            self.consumer.start()
        self.reaper.start()
        self.scheduler.start()

    def stop(self) -> None:
        """Finish running jobs (up to a lease), hand back what is left, and close the queue."""
        self.scheduler.stop()
        self.reaper.stop()
        if self.consumer is not None and self.runner is not None:
            self.consumer.stop(graceful=True)
            self.runner.release()
        self.queue.close()


def run_worker(lore: Lore, threads: int) -> None:
    """`lore worker`: consume jobs in this process until SIGTERM or SIGINT. Must run in the main thread."""
    queue = JobQueue.over(lore.store.jobs, lore.settings)
    lease = lore.settings.jobs.job_lease_seconds
    runner = Runner(lore, queue.records, queue.transport, lease_seconds=lease)
    reaper = Reaper(queue.records, queue.transport, lease_seconds=lease)
    scheduler = standard(lore, queue)
    queue.transport.receiver = runner
    consumer = _consumer(queue, threads, Consumer)
    reaper.start()
    scheduler.start()
    logger.info(
        "worker %s: %d thread(s) on the %s queue", runner.owner_prefix, threads, queue.transport.backend
    )
    try:
        consumer.run()
    finally:
        scheduler.stop()
        reaper.stop()
        released = runner.release()
        if released:
            logger.info("handed %d unfinished job(s) back to the queue", len(released))
        queue.close()
