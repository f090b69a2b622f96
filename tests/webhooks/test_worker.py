"""Deliveries ride the job system, on SQLite and on PostgreSQL: a worker stopped in the middle of a delivery hands
it back, another worker delivers it, and a late answer to the stopped one changes nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from lore.bus import BusEvent
from lore.config import Settings
from lore.jobs.runtime import JobRuntime
from lore.security.secrets import generate_key
from lore.service import Lore
from lore.webhooks import Subscription
from tests.jobs.conftest import make_settings
from tests.waiting import wait_for
from tests.webhooks.conftest import WEBHOOK_SETTINGS
from tests.webhooks.receiver import Answer, Receiver


@pytest.fixture(params=["sqlite", "postgres"])
def lore(request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path) -> Iterator[Lore]:
    database_url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    keys = SecretStr(generate_key()) if database_url else None
    settings: Settings = make_settings(
        tmp_path / "data",
        model_cache,
        database_url,
        secret_keys=keys,
        job_lease_seconds=1.0,
        **{**WEBHOOK_SETTINGS, "webhook_timeout_seconds": 30.0},
    )
    with Lore.open(settings) as service:
        service.store.tenants.ensure_default()
        yield service


def test_a_worker_stopped_mid_delivery_loses_nothing(lore: Lore) -> None:
    held = threading.Event()
    with Receiver().then(Answer(hold=held)) as receiver:
        created = lore.webhooks.create("default", Subscription(receiver.url, ["job.failed"]))
        first = JobRuntime.for_lore(lore, threads=1)
        first.start()
        lore.bus.publish(BusEvent("job.failed", "default", {"job_id": "j1", "kind": "ingest"}))
        receiver.wait(1)  # the first worker is inside the delivery, its request unanswered
        first.stop()  # waits up to a lease, then hands the job back
        second = JobRuntime.for_lore(lore, threads=1)
        second.start()
        try:
            arrivals = receiver.wait(2)
            page = lore.webhooks.deliveries_of("default", created.webhook.id)
            delivery = wait_for(
                lambda: next(
                    (
                        d
                        for d in lore.webhooks.deliveries_of("default", created.webhook.id).items
                        if d.state == "delivered"
                    ),
                    None,
                ),
                "the second worker to deliver",
            )
            assert len(page.items) == 1 and delivery.attempts == 1 and delivery.status_code == 204
            assert arrivals[0].id == arrivals[1].id == delivery.event_id
            assert arrivals[1].verifies(created.secret)["data"]["job_id"] == "j1"
            held.set()  # the stopped worker's request is answered at last: the delivery stays delivered
            wait_for(
                lambda: lore.store.jobs.get("default", delivery.job_id or "").state == "succeeded", "the job"
            )
            after = lore.store.webhooks.delivery("default", delivery.id)
            assert after is not None and (after.state, after.attempts) == ("delivered", 1)
        finally:
            held.set()
            second.stop()
