"""How job ids travel to workers: a huey queue chosen by `LORE_QUEUE_URL`.

    redis://host:6379/0          Redis (blocking pops: a job starts as soon as a worker is free)
    postgresql://user@host/db    PostgreSQL tables `lore_queue_*` (LISTEN/NOTIFY: no polling)
    (unset)                      the store's database when it is PostgreSQL, so that replicas and workers sharing
                                 a store share a queue too; else SQLite file `queue.db` in the data dir

A `?queue=NAME` parameter names the queue (default `lore`), so several installations can share one server.
The queue carries only job ids; the job itself lives in the store, which decides who runs it. Huey's own
retries are off: attempts, backoff and errors are recorded in the store.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from huey import PostgresHuey, RedisHuey, SqliteHuey
from huey.api import Huey

from lore.config import Settings
from lore.errors import InvalidInput
from lore.registry import store_backend_name

DEFAULT_QUEUE = "lore"
TASK_NAME = "lore.run_job"
POSTGRES_TABLE_PREFIX = "lore_queue"


def split_queue_url(url: str) -> tuple[str, str]:
    """(the URL without the `queue` parameter, the queue's name)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [value for key, value in query if key == "queue"]
    rest = urlencode([(key, value) for key, value in query if key != "queue"])
    return urlunsplit(parts._replace(query=rest)), (names[-1] if names else DEFAULT_QUEUE)


def queue_url(settings: Settings) -> str | None:
    """The configured queue, else the PostgreSQL store's own database, else None (a SQLite file)."""
    if settings.jobs.queue_url:
        return settings.jobs.queue_url
    return (
        settings.storage.store_url if store_backend_name(settings.storage.store_url) == "postgresql" else None
    )


def backend_name(settings: Settings) -> str:
    url = queue_url(settings)
    if url is None:
        return "sqlite"
    scheme = urlsplit(url).scheme.split("+", 1)[0]
    return {"redis": "redis", "rediss": "redis", "postgresql": "postgresql", "postgres": "postgresql"}.get(
        scheme, scheme
    )


def create_huey(settings: Settings) -> Huey:
    backend, configured = backend_name(settings), queue_url(settings)
    if configured is None:
        settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(DEFAULT_QUEUE, filename=str(settings.storage.data_dir / "queue.db"), results=False)
    url, name = split_queue_url(configured)
    if backend == "redis":
        return RedisHuey(name, url=url, results=False)
    if backend == "postgresql":
        dsn = urlunsplit(urlsplit(url)._replace(scheme="postgresql"))  # libpq knows no "+driver"
        return PostgresHuey(name, dsn=dsn, table_prefix=POSTGRES_TABLE_PREFIX, results=False)
    raise InvalidInput(
        f"unsupported queue URL scheme {backend!r}: use redis:// or postgresql://",
        details={"known": ["postgresql", "redis"]},
    )


class Transport:
    """Sends job ids through huey and hands received ones to this process's runner, if it has one."""

    def __init__(self, huey: Huey, backend: str) -> None:
        self.huey = huey
        self.backend = backend
        self.receiver: Callable[[str], None] | None = None
        self._task = huey.task(name=TASK_NAME)(self._receive)
        # each consumer thread may hold its own connection (PostgreSQL's LISTEN): close it as the thread ends
        huey.on_shutdown(name="lore-close-connections")(huey.storage.close)

    @classmethod
    def from_settings(cls, settings: Settings) -> Transport:
        return cls(create_huey(settings), backend_name(settings))

    def _receive(self, job_id: str) -> None:
        if self.receiver is None:
            raise RuntimeError("this process sends jobs but does not run them")
        self.receiver(job_id)

    def send(self, job_id: str, delay: float = 0.0) -> None:
        if delay > 0:
            self._task.schedule(args=(job_id,), delay=delay)
        else:
            self._task(job_id)

    def pending(self) -> int:
        """Deliveries waiting in the queue (duplicates included): a cheap round trip that proves it answers."""
        return int(self.huey.pending_count())

    def close(self) -> None:
        self.huey.storage.close()
        pool = getattr(self.huey.storage, "pool", None)  # Redis: close the pooled sockets too
        if pool is not None:
            pool.disconnect()
