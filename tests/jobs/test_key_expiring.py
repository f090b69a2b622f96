"""The `key.expiring` event: every worker's scheduler announces each usable key that expires within
`LORE_KEY_EXPIRING_DAYS`, once per key and expiry however many workers look, and never a revoked, rotated,
far-off or never-expiring key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from lore.bus import EVENT_TYPES, BusEvent, EventBus
from lore.config import Settings
from lore.jobs.runtime import JobRuntime
from lore.jobs.schedule import KEY_EXPIRING, announce_expiring_keys
from lore.models import utcnow
from lore.security.keys import KeyRing, KeySpec
from lore.security.scopes import Scope
from lore.service import Lore
from tests.waiting import wait_for

READ = frozenset({Scope("search")})


def _key(ring: KeyRing, name: str, days: float | None, tenant: str = "default") -> str:
    expires = None if days is None else utcnow() + timedelta(days=days)
    key, _ = ring.create(tenant, KeySpec(name=name, scopes=READ, expires_at=expires), created_by="operator")
    return key.id


def test_the_event_is_one_the_bus_and_webhooks_know() -> None:
    assert KEY_EXPIRING in EVENT_TYPES


def test_a_key_near_its_expiry_is_announced_once_by_racing_workers(settings: Settings) -> None:
    with Lore.open(settings) as lore:
        db = lore.store
        db.tenants.create("acme")
        ring = KeyRing(db.api_keys, db.tenants)
        soon = _key(ring, "ci deploy", 2)
        other_tenant = _key(ring, "acme sync", 6.5, tenant="acme")
        _key(ring, "next month", 30)
        _key(ring, "forever", None)
        ring.revoke("default", _key(ring, "revoked", 1))
        seen: list[BusEvent] = []
        bus = EventBus()
        bus.subscribe(seen.append)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: announce_expiring_keys(db, bus, 7), range(8)))
        assert sorted((e.tenant_id, e.data["key_id"]) for e in seen) == sorted(
            [("default", soon), ("acme", other_tenant)]
        )
        first = next(e for e in seen if e.data["key_id"] == soon)
        assert first.type == KEY_EXPIRING and first.data["name"] == "ci deploy"
        assert first.data["days_left"] == 1 and first.data["kind"] == "secret"
        assert announce_expiring_keys(db, bus, 7) == []  # announced already: not again


def test_the_scheduler_every_worker_runs_announces_it_on_the_service_bus(job_settings: Settings) -> None:
    with Lore.open(job_settings) as lore:
        seen: list[BusEvent] = []
        lore.bus.subscribe(lambda event: seen.append(event) if event.type == KEY_EXPIRING else None)
        key = _key(KeyRing(lore.store.api_keys, lore.store.tenants), "expiring", 3)
        runtime = JobRuntime.for_lore(lore, threads=0)
        runtime.start()
        try:
            wait_for(lambda: seen, "the key.expiring event")
        finally:
            runtime.stop()
        assert [event.data["key_id"] for event in seen] == [key]
