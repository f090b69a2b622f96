"""Fixtures of the job tests: a migrated store on SQLite and on PostgreSQL, and a queue over it.

The queue is huey's SQLite storage in the data dir (the embedded default); tests/jobs/test_transport.py runs
the Redis and PostgreSQL queues.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lore.backends.store.database import Database
from lore.backends.store.job_records import JobRecords
from lore.config import Settings
from lore.jobs import JobQueue
from lore.jobs.registry import Handler, handler, job_kinds
from lore.registry import create_store


def make_settings(data_dir: Path, model_cache: Path, database_url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "model_cache_dir": model_cache,
        "parse_workers": 1,
        "embed_threads": 1,
        "job_retries": 2,
        "job_lease_seconds": 2.0,
        "worker_threads": 1,
    }
    return Settings(_env_file=None, **{**values, **overrides})


@pytest.fixture(params=["sqlite", "postgres"])
def job_settings(request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path) -> Settings:
    database_url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    return make_settings(tmp_path / "data", model_cache, database_url)


@pytest.fixture
def store(job_settings: Settings) -> Iterator[Database]:
    instance = create_store(job_settings)
    instance.migrate()
    yield instance
    instance.close()


@pytest.fixture
def queue(store: Database, job_settings: Settings) -> Iterator[JobQueue]:
    instance = JobQueue.over(store.jobs, job_settings)
    yield instance
    instance.close()


@pytest.fixture
def records(queue: JobQueue) -> JobRecords:
    return queue.records


@pytest.fixture
def register() -> Iterator[Any]:
    """Register job kinds for one test; they are removed afterwards."""
    added: list[str] = []

    def add(name: str, run: Handler) -> Handler:
        added.append(name)
        return handler(name)(run)

    yield add
    for name in added:
        job_kinds.remove(name)
