"""The `quota.near` event: a live server publishes it once when a tenant's requests of the day reach the share of
its quota, and a webhook subscribed to it receives it signed; several processes (separate stores over one
database, SQLite and PostgreSQL) racing to announce the same notice announce it once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from lore.backends.store.database import Database
from lore.backends.store.postgres import PostgresDatabase
from lore.backends.store.sqlite import SqliteDatabase
from lore.bus import EVENT_TYPES, BusEvent, EventBus
from lore.security.quota_notices import EVENT, QuotaNotices
from lore.security.usage import utc_day
from tests.api.conftest import LiveServer, small_server
from tests.keys import bearer, mint_key
from tests.pgserver import PostgresServer
from tests.waiting import wait_for
from tests.webhooks.receiver import Receiver

LIMIT = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    settings = {"quota_requests_per_day": LIMIT, "quota_near_fraction": 0.5, "webhook_allow_loopback": True}
    with small_server(tmp_path_factory.mktemp("quota-near"), model_cache, **settings) as live:
        yield live


def test_the_event_is_one_the_bus_and_webhooks_know() -> None:
    assert EVENT in EVENT_TYPES


def test_a_live_server_announces_a_nearly_used_quota_once(server: LiveServer) -> None:
    seen: list[BusEvent] = []
    server.lore.bus.subscribe(lambda event: seen.append(event) if event.type == EVENT else None)
    with (
        Receiver() as receiver,
        httpx.Client(base_url=server.url, headers=bearer(mint_key(server.lore.store))) as api,
    ):
        subscribed = api.post("/v1/webhooks", json={"url": receiver.url, "events": [EVENT]})  # request 1
        assert subscribed.status_code == 201, subscribed.text
        for _ in range(4):  # requests 2 to 5: 4 made before the last, under half of the quota
            assert api.get("/v1/collections").status_code == 200
        assert seen == []
        assert api.get("/v1/collections").status_code == 200  # request 6 finds 5 made: half the quota
        wait_for(lambda: seen, "the quota.near event")
        for _ in range(4):  # requests 7 to 10, the last of the quota
            assert api.get("/v1/collections").status_code == 200
        refused = api.get("/v1/collections")
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "quota_exceeded"

        arrival = receiver.wait(1)[0]
        payload = arrival.verifies(subscribed.json()["secret"])
    assert len(seen) == 1
    event = seen[0]
    assert event.tenant_id == "default"
    expected = {"quota": "requests_per_day", "used": 5, "limit": LIMIT, "period": utc_day(), "fraction": 0.5}
    assert dict(event.data) == expected
    assert payload["type"] == EVENT and payload["data"] == expected
    assert len(receiver.arrivals) == 1


def _race(open_db: Callable[[], Database], processes: int = 4) -> list[BusEvent]:
    """`processes` stores over one database, each with its bus and notices, observing the same use at once."""
    stores = [open_db() for _ in range(processes)]
    published: list[BusEvent] = []
    buses = [EventBus() for _ in stores]
    for bus in buses:
        bus.subscribe(published.append)
    notices = [QuotaNotices(db.notices, bus, 0.8) for db, bus in zip(stores, buses, strict=True)]
    start = threading.Barrier(processes)

    def observe(notice: QuotaNotices) -> None:
        start.wait()
        notice.observe("acme", "tokens_per_day", 850, 1000)

    threads = [threading.Thread(target=observe, args=(notice,)) for notice in notices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for notice in notices:
        notice.observe("acme", "tokens_per_day", 990, 1000)  # again, higher: handled already today
        notice.observe("acme", "documents", 10, 1000)  # another quota, far from its share: nothing
        notice.close()
    for db in stores:
        db.close()
    return published


def _assert_once(published: list[BusEvent]) -> None:
    assert len(published) == 1, published
    assert published[0].tenant_id == "acme"
    assert published[0].data["quota"] == "tokens_per_day" and published[0].data["used"] == 850


def test_processes_racing_over_one_sqlite_file_announce_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lore.db'}"
    first = SqliteDatabase(url)
    first.migrate()
    first.close()
    _assert_once(_race(lambda: SqliteDatabase(url)))


def test_processes_racing_over_one_postgresql_database_announce_once(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    try:

        def open_db() -> Database:
            db = PostgresDatabase(url, pool_size=2)
            db.migrate()
            return db

        _assert_once(_race(open_db))
    finally:
        postgres.drop_database(url)


def test_a_claim_is_made_once_per_tenant_subject_and_period(tmp_path: Path) -> None:
    db = SqliteDatabase(f"sqlite:///{tmp_path / 'lore.db'}")
    db.migrate()
    try:
        assert db.notices.claim("acme", EVENT, "requests_per_day", "2026-12-02")
        assert not db.notices.claim("acme", EVENT, "requests_per_day", "2026-12-02")
        assert db.notices.claim("acme", EVENT, "requests_per_day", "2026-12-03")  # the next day's
        assert db.notices.claim("acme", EVENT, "tokens_per_day", "2026-12-02")  # another quota's
        assert db.notices.claim("other", EVENT, "requests_per_day", "2026-12-02")  # another tenant's
    finally:
        db.close()
