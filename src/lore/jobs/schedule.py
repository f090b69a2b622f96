"""The scheduler: periodic tasks on one thread, in every `lore serve` (with job workers) and `lore worker`.

    >>> scheduler = Scheduler([Periodic("sources", 30.0, lambda: enqueue_due_sources(db, queue))])
    >>> scheduler.start(); ...; scheduler.stop()

Several processes run one each, so a task must be safe to run concurrently: it claims its work with a
conditional UPDATE (as `SourceRecords.claim_due` does) and does only what it claimed. A task that fails is
logged and tried again at its next tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, NamedTuple

from lore.bus import BusEvent, EventBus
from lore.models import utcnow

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.jobs.queue import JobQueue
    from lore.models import Job
    from lore.service import Lore

logger = logging.getLogger("lore.jobs")

KEY_EXPIRING = "key.expiring"


class Periodic(NamedTuple):
    name: str
    every_seconds: float
    run: Callable[[], object]


class Scheduler:
    def __init__(self, tasks: Sequence[Periodic]) -> None:
        self.tasks = list(tasks)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lore-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        due = dict.fromkeys((task.name for task in self.tasks), 0.0)
        tick = min((task.every_seconds for task in self.tasks), default=1.0)
        while not self._stop.is_set():
            for task in self.tasks:
                if time.monotonic() >= due[task.name]:
                    due[task.name] = time.monotonic() + task.every_seconds
                    self._once(task)
            self._stop.wait(tick)

    def _once(self, task: Periodic) -> None:
        try:
            task.run()
        except Exception:  # the store or the queue is briefly away: try again at the next tick
            logger.warning("scheduled task %s failed", task.name, exc_info=True)


def enqueue_due_sources(db: Database, queue: JobQueue) -> list[Job]:
    """A `sync_source` job for each scheduled source whose run is due and that this process claimed."""
    from lore.connectors.sources import JOB_KIND

    return [
        queue.submit(JOB_KIND, {"source_id": source.id}, tenant_id=source.tenant_id)
        for source in db.sources.claim_due()
    ]


def announce_expiring_keys(db: Database, bus: EventBus, days: int) -> list[BusEvent]:
    """A `key.expiring` event for each usable key expiring within `days`, once per key and expiry date
    whichever worker gets there first (a key given a new expiry is announced again)."""
    announced = []
    for key in db.api_keys.expiring(utcnow() + timedelta(days=days)):
        assert key.expires_at is not None  # expiring() reads only keys that expire
        if not db.notices.claim(key.tenant_id, KEY_EXPIRING, key.id, key.expires_at.isoformat()):
            continue
        data = {
            "key_id": key.id,
            "name": key.name,
            "kind": key.kind,
            "expires_at": key.expires_at.isoformat(),
            "days_left": max((key.expires_at - utcnow()).days, 0),
        }
        event = BusEvent(KEY_EXPIRING, key.tenant_id, data)
        bus.publish(event)
        announced.append(event)
    return announced


def standard(lore: Lore, queue: JobQueue) -> Scheduler:
    """The scheduler every worker runs: the due sources' syncs, and the keys about to expire."""
    db, settings = lore.store, lore.settings
    every = settings.connectors.sync_check_seconds
    return Scheduler(
        [
            Periodic("sources", every, lambda: enqueue_due_sources(db, queue)),
            Periodic(
                "keys", every, lambda: announce_expiring_keys(db, lore.bus, settings.auth.key_expiring_days)
            ),
        ]
    )
