"""The queues that carry job ids, each on a real server: SQLite file, Redis on loopback, PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from lore.config import Settings
from lore.errors import InvalidInput
from lore.jobs.runtime import EmbeddedConsumer
from lore.jobs.transport import Transport, backend_name, create_huey, split_queue_url
from tests.waiting import PATIENCE

REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_queue_url() -> Iterator[str]:
    """A queue of its own on the shared Redis, deleted afterwards."""
    name = f"lore_test_{uuid.uuid4().hex}"
    yield f"{REDIS}?queue={name}"
    client = redis.Redis.from_url(REDIS)
    try:
        keys = list(client.scan_iter(match=f"huey.*{name}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(params=["sqlite", "redis", "postgresql"])
def transport(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Transport]:
    queue_url = {
        "sqlite": lambda: None,
        "redis": lambda: request.getfixturevalue("redis_queue_url"),
        "postgresql": lambda: request.getfixturevalue("database_url"),
    }[request.param]()
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", queue_url=queue_url)
    instance = Transport.from_settings(settings)
    assert instance.backend == request.param
    yield instance
    instance.close()


def test_the_queue_name_comes_from_the_url_and_the_rest_is_kept() -> None:
    assert split_queue_url("redis://h:6379/15?queue=blue&ssl_cert_reqs=none") == (
        "redis://h:6379/15?ssl_cert_reqs=none",
        "blue",
    )
    assert split_queue_url("postgresql://u:p@h/db") == ("postgresql://u:p@h/db", "lore")


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        (None, "sqlite"),
        ("redis://localhost", "redis"),
        ("rediss://localhost", "redis"),
        ("postgresql+psycopg://u@h/db", "postgresql"),
        ("postgres://u@h/db", "postgresql"),
    ],
)
def test_the_backend_follows_the_url_scheme(url: str | None, backend: str) -> None:
    assert backend_name(Settings(_env_file=None, queue_url=url)) == backend


def test_without_a_queue_url_a_postgresql_store_carries_the_queue_too() -> None:
    store = "postgresql://u:p@db/lore"
    assert backend_name(Settings(_env_file=None, database_url=store)) == "postgresql"
    both = Settings(_env_file=None, database_url=store, queue_url="redis://q")
    assert backend_name(both) == "redis"


def test_an_unknown_queue_scheme_is_refused(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, queue_url="amqp://localhost")
    with pytest.raises(InvalidInput, match="amqp"):
        create_huey(settings)


def test_job_ids_are_delivered_now_and_after_a_delay(transport: Transport) -> None:
    received: list[tuple[str, float]] = []
    got_all = threading.Event()

    def receive(job_id: str) -> None:
        received.append((job_id, time.monotonic()))
        if len(received) == 3:
            got_all.set()

    transport.receiver = receive
    sent = time.monotonic()
    transport.send("now-1")
    transport.send("now-2")
    transport.send("later", delay=1.5)
    assert transport.pending() >= 2
    consumer = EmbeddedConsumer(
        transport.huey, workers=1, worker_type="thread", periodic=False, max_delay=0.1
    )
    consumer.start()
    try:
        assert got_all.wait(PATIENCE), received
    finally:
        consumer.stop(graceful=True)
    assert [job_id for job_id, _ in received] == ["now-1", "now-2", "later"]
    assert received[2][1] - sent >= 1.4
    assert transport.pending() == 0


def test_the_postgresql_queue_keeps_to_its_own_tables(database_url: str) -> None:
    settings = Settings(_env_file=None, queue_url=f"{database_url}?queue=blue")
    transport = Transport.from_settings(settings)
    try:
        transport.send("a")
        assert transport.pending() == 1
    finally:
        transport.close()
    with psycopg.connect(database_url) as conn:
        tables = {
            row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        queues = conn.execute("SELECT DISTINCT queue FROM lore_queue_task").fetchall()
    assert {"lore_queue_task", "lore_queue_schedule", "lore_queue_kv", "lore_queue_counter"} <= tables
    assert not {"task", "schedule", "kv", "counter"} & tables
    assert queues == [("blue",)]
