"""Due sources are claimed once however many schedulers race for them, on every store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from lore.backends.store.database import Database
from lore.config import Settings
from lore.models import utcnow
from lore.registry import create_store


def _store(settings: Settings) -> Database:
    db = create_store(settings)
    db.migrate()
    return db


def test_a_due_source_is_claimed_by_one_scheduler_and_moved_to_its_next_run(settings: Settings) -> None:
    db = _store(settings)
    try:
        db.tenants.create("acme")
        values = {"tenant_id": "acme", "kind": "website", "location": "https://a.example/", "collection": "c"}
        due = db.sources.insert({**values, "id": "src_due", "name": "due", "interval_seconds": 600})
        db.sources.insert({**values, "id": "src_manual", "name": "manual"})  # no schedule: never claimed
        assert due.next_run_at is not None
        with ThreadPoolExecutor(4) as pool:
            claims = list(pool.map(lambda _: db.sources.claim_due(), range(8)))
        assert sorted(s.id for claim in claims for s in claim) == ["src_due"]
        later = db.sources.get("acme", "src_due")
        assert later is not None and later.next_run_at is not None
        assert later.next_run_at - utcnow() > timedelta(seconds=590)
        assert db.sources.claim_due() == []
        assert db.sources.claim_due(utcnow() + timedelta(seconds=601))[0].id == "src_due"
    finally:
        db.close()
