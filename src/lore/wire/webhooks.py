"""Wire forms of webhooks: an endpoint's subscription in, the endpoint out (its signing secret only in the
response that creates or rotates it), and the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lore.backends.store.webhook_records import DeliveryRecord, WebhookRecord
from lore.bus import EventType
from lore.webhooks.addresses import MAX_URL_CHARS
from lore.webhooks.endpoints import MAX_COLLECTIONS, MAX_DESCRIPTION_CHARS

Events = list[EventType]
Collections = list[str] | None


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=MAX_URL_CHARS, description="https://, on a public address.")
    events: Events = Field(min_length=1, max_length=20, description="The event types it receives.")
    collections: Collections = Field(
        None, max_length=MAX_COLLECTIONS, description="Only events in these collections (null: every event)."
    )
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS)


class WebhookPatch(BaseModel):
    """Only the fields given change; `enabled: true` re-enables an endpoint that was disabled for failing."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, min_length=1, max_length=MAX_URL_CHARS)
    events: Events | None = Field(None, min_length=1, max_length=20)
    collections: Collections = Field(None, max_length=MAX_COLLECTIONS)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION_CHARS)
    enabled: bool | None = None


class WebhookOut(BaseModel):
    id: str
    url: str
    description: str
    events: list[str]
    collections: list[str] | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why Lore disabled it, when it kept failing.")
    failures: int = Field(description="Failed attempts in a row since its last success.")
    failing_since: datetime | None
    previous_secret_until: datetime | None = Field(
        description="Until when the rotated-out secret also signs."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, webhook: WebhookRecord) -> WebhookOut:
        return cls(
            id=webhook.id,
            url=webhook.url,
            description=webhook.description,
            events=webhook.events,
            collections=webhook.collections,
            enabled=webhook.enabled,
            disabled_reason=webhook.disabled_reason,
            failures=webhook.failures,
            failing_since=webhook.failing_since,
            previous_secret_until=webhook.previous_until if webhook.previous_secret else None,
            created_at=webhook.created_at,
            updated_at=webhook.updated_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret (whsec_…): shown in this response only.")


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    webhook_id: str
    event_id: str = Field(description="The webhook-id header: the same for a replay of the same event.")
    event_type: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    status_code: int | None = Field(description="The endpoint's status at the last attempt.")
    latency_ms: float | None = Field(description="How long the last attempt took.")
    error: str | None = Field(description="Why the last attempt failed.")
    next_attempt_at: datetime | None
    job_id: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: DeliveryRecord) -> DeliveryOut:
        return cls.model_validate(delivery)


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
