"""Background jobs: defined once (a handler per kind), recorded in the store (`db.jobs`, the conditional UPDATEs
of `lore.backends.store.job_records`), carried by a huey queue.

registry.py   `@handler("kind")`: the one way to define a job; kinds/ holds the built-in ones, the entry-point
              group `lore.job_kinds` those of installed distributions
transport.py  the huey queue chosen by `LORE_QUEUE_URL`, carrying job ids
runner.py     runs a delivered job under a lease, with retries and exponential backoff
reaper.py     delivers again the jobs of workers that died and messages that were lost
queue.py      `JobQueue`: submit, get, list, retry, wait (what the API and CLI call)
runtime.py    worker threads inside `lore serve`, and the `lore worker` process
"""

from lore.jobs.queue import JobQueue, open_queue
from lore.jobs.registry import Kind, ReportProgress, handler, job_kinds
from lore.models import JOB_STATES, Job, JobState

__all__ = [
    "JOB_STATES",
    "Job",
    "JobQueue",
    "JobState",
    "Kind",
    "ReportProgress",
    "handler",
    "job_kinds",
    "open_queue",
]
