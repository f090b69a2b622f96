"""A tenant's webhook endpoints: subscribe, change, rotate the signing secret, read the delivery log, replay.

    >>> created = webhooks.create("default", Subscription("https://hooks.example.com/lore", ["job.failed"]))
    >>> created.secret  # shown once; stored encrypted, never returned again
    'whsec_...'

Secrets are encrypted with the tenant secrets' box (`LORE_SECRET_KEYS`). After a rotation the previous secret
keeps signing, beside the new one, for `webhook_secret_overlap_seconds`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from lore.backends.store.webhook_records import DeliveryRecord, WebhookRecord
from lore.bus import EVENT_TYPES, EventBus
from lore.config import Settings
from lore.errors import Conflict, InvalidInput, NotFound
from lore.jobs.queue import JobQueue
from lore.models import Page, utcnow
from lore.names import check_name
from lore.security.secrets import SecretBox
from lore.webhooks.addresses import check_url
from lore.webhooks.delivery import Deliveries
from lore.webhooks.signing import new_secret

if TYPE_CHECKING:
    from lore.backends.store.database import Database

MAX_COLLECTIONS = 100
MAX_DESCRIPTION_CHARS = 500


@dataclass(frozen=True, slots=True)
class Subscription:
    """What an endpoint receives: `collections` None means events of every collection (and those of none)."""

    url: str
    events: Sequence[str]
    collections: Sequence[str] | None = None
    description: str = ""


class Created(NamedTuple):
    webhook: WebhookRecord
    secret: str  # in the clear: for the response that creates or rotates it, and nothing else


def check_events(events: Sequence[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        raise InvalidInput(
            f"events must be one or more of {', '.join(EVENT_TYPES)}",
            details={"unknown": unknown, "known": list(EVENT_TYPES)},
        )
    return sorted(set(events))


def check_collections(collections: Sequence[str] | None) -> list[str] | None:
    if collections is None:
        return None
    if not collections or len(collections) > MAX_COLLECTIONS:
        raise InvalidInput(f"a filter names 1 to {MAX_COLLECTIONS} collections (none: every collection)")
    return sorted({check_name("collection", name) for name in collections})


def no_webhook(webhook_id: str) -> NotFound:
    return NotFound(f"no webhook {webhook_id!r}", details={"webhook_id": webhook_id})


class Webhooks:
    def __init__(self, deliveries: Deliveries) -> None:
        self.deliveries = deliveries
        self.records = deliveries.db.webhooks

    @classmethod
    def on_bus(cls, db: Database, settings: Settings, bus: EventBus) -> Webhooks:
        """A tenant's webhooks over the store, receiving `bus`'s events; the job queue and the secret box are
        opened when the first delivery needs them."""
        deliveries = Deliveries(
            db,
            settings.webhooks,
            lambda: JobQueue.over(db.jobs, settings),
            lambda: SecretBox.from_settings(settings),
        )
        deliveries.attach(bus)
        return cls(deliveries)

    def _url(self, url: str) -> str:
        return check_url(url, allow_loopback=self.deliveries.settings.webhook_allow_loopback)

    def create(self, tenant_id: str, subscription: Subscription) -> Created:
        secret = new_secret()
        values = {
            "id": f"whk_{uuid.uuid4().hex}",
            "tenant_id": tenant_id,
            "url": self._url(subscription.url),
            "description": subscription.description[:MAX_DESCRIPTION_CHARS],
            "events": check_events(subscription.events),
            "collections": check_collections(subscription.collections),
            "secret": self.deliveries.box.encrypt(secret),
        }
        webhook = self.records.insert(values)
        self.deliveries.changed(tenant_id)
        return Created(webhook, secret)

    def get(self, tenant_id: str, webhook_id: str) -> WebhookRecord:
        webhook = self.records.get(tenant_id, webhook_id)
        if webhook is None:
            raise no_webhook(webhook_id)
        return webhook

    def list(self, tenant_id: str, limit: int = 50, cursor: str | None = None) -> Page[WebhookRecord]:
        return self.records.newest(tenant_id, limit, cursor)

    def update(self, tenant_id: str, webhook_id: str, changes: dict[str, Any]) -> WebhookRecord:
        """Change any of url, description, events, collections (None: every one) and enabled; enabling an
        endpoint starts its run of failures afresh."""
        current = self.get(tenant_id, webhook_id)
        values: dict[str, Any] = {}
        if "url" in changes:
            values["url"] = self._url(changes["url"])
        if "description" in changes:
            values["description"] = str(changes["description"])[:MAX_DESCRIPTION_CHARS]
        if "events" in changes:
            values["events"] = check_events(changes["events"])
        if "collections" in changes:
            values["collections"] = check_collections(changes["collections"])
        if "enabled" in changes:
            values["enabled"] = bool(changes["enabled"])
            if values["enabled"]:
                values |= {"failures": 0, "failing_since": None, "disabled_reason": None}
        if not values:
            return current
        updated = self.records.update(tenant_id, webhook_id, values)
        self.deliveries.changed(tenant_id)
        if updated is None:
            raise no_webhook(webhook_id)
        return updated

    def delete(self, tenant_id: str, webhook_id: str) -> None:
        if not self.records.delete(tenant_id, webhook_id):
            raise no_webhook(webhook_id)
        self.deliveries.changed(tenant_id)

    def rotate(self, tenant_id: str, webhook_id: str) -> Created:
        """A new signing secret; the current one keeps signing beside it for the overlap window."""
        current = self.get(tenant_id, webhook_id)
        secret = new_secret()
        overlap = timedelta(seconds=self.deliveries.settings.webhook_secret_overlap_seconds)
        values = {
            "secret": self.deliveries.box.encrypt(secret),
            "previous_secret": current.secret,
            "previous_until": utcnow() + overlap,
        }
        updated = self.records.update(tenant_id, webhook_id, values)
        if updated is None:
            raise no_webhook(webhook_id)
        return Created(updated, secret)

    def deliveries_of(
        self, tenant_id: str, webhook_id: str, limit: int = 50, cursor: str | None = None
    ) -> Page[DeliveryRecord]:
        self.get(tenant_id, webhook_id)
        return self.records.deliveries(tenant_id, webhook_id, limit, cursor)

    def replay(self, tenant_id: str, webhook_id: str, delivery_id: str) -> DeliveryRecord:
        """Send a past delivery's event again, as a new delivery with the same `webhook-id` (receivers that
        dedupe on it see the same message)."""
        webhook = self.get(tenant_id, webhook_id)
        past = self.records.delivery(tenant_id, delivery_id)
        if past is None or past.webhook_id != webhook_id:
            raise NotFound(
                f"no delivery {delivery_id!r} of this webhook", details={"delivery_id": delivery_id}
            )
        if not webhook.enabled:
            raise Conflict("the webhook is disabled: enable it to replay", details={"webhook_id": webhook_id})
        return self.deliveries.enqueue(webhook, past.event_id, past.event_type, past.payload)
