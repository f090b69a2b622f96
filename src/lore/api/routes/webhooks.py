"""The caller's tenant's webhooks: subscribe endpoints to events, change them, rotate their signing secret,
read each one's delivery log and replay a delivery. A secret is shown once, when it is made."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from lore.api.audit import AuditDep
from lore.api.deps import LoreDep, TenantDep
from lore.api.errors import ERROR_RESPONSES
from lore.webhooks import Created, Subscription
from lore.wire.webhooks import (
    DeliveryOut,
    DeliveryPage,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPage,
    WebhookPatch,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=ERROR_RESPONSES)

WebhookId = Annotated[str, Path(min_length=1, max_length=64)]
DeliveryId = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=1000)]


def _created(created: Created) -> WebhookCreated:
    return WebhookCreated(**WebhookOut.of(created.webhook).model_dump(), secret=created.secret)


@router.post("", status_code=201)
def create_webhook(body: WebhookIn, lore: LoreDep, tenant: TenantDep, audit: AuditDep) -> WebhookCreated:
    """Subscribe an endpoint; the response holds its signing secret, which is never shown again."""
    subscription = Subscription(body.url, body.events, body.collections, body.description)
    created = lore.webhooks.create(tenant, subscription)
    audit.record(
        "webhook.created", target=created.webhook.id, summary={"url": body.url, "events": body.events}
    )
    return _created(created)


@router.get("")
def list_webhooks(lore: LoreDep, tenant: TenantDep, limit: Limit = 50, cursor: Cursor = None) -> WebhookPage:
    page = lore.webhooks.list(tenant, limit, cursor)
    return WebhookPage(items=[WebhookOut.of(w) for w in page.items], next_cursor=page.next_cursor)


@router.get("/{webhook_id}")
def get_webhook(webhook_id: WebhookId, lore: LoreDep, tenant: TenantDep) -> WebhookOut:
    return WebhookOut.of(lore.webhooks.get(tenant, webhook_id))


@router.patch("/{webhook_id}")
def update_webhook(
    webhook_id: WebhookId, body: WebhookPatch, lore: LoreDep, tenant: TenantDep, audit: AuditDep
) -> WebhookOut:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    webhook = lore.webhooks.update(tenant, webhook_id, changes)
    audit.record("webhook.updated", target=webhook_id, summary=changes)
    return WebhookOut.of(webhook)


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: WebhookId, lore: LoreDep, tenant: TenantDep, audit: AuditDep) -> Response:
    lore.webhooks.delete(tenant, webhook_id)
    audit.record("webhook.deleted", target=webhook_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate")
def rotate_secret(webhook_id: WebhookId, lore: LoreDep, tenant: TenantDep, audit: AuditDep) -> WebhookCreated:
    """A new signing secret, shown once; the previous one keeps signing beside it until
    `previous_secret_until`, so receivers can switch without missing a delivery."""
    created = lore.webhooks.rotate(tenant, webhook_id)
    audit.record("webhook.rotated", target=webhook_id)
    return _created(created)


@router.get("/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: WebhookId, lore: LoreDep, tenant: TenantDep, limit: Limit = 50, cursor: Cursor = None
) -> DeliveryPage:
    """Newest first: each delivery's state, attempts, last status, latency and error, and its next attempt."""
    page = lore.webhooks.deliveries_of(tenant, webhook_id, limit, cursor)
    return DeliveryPage(items=[DeliveryOut.of(d) for d in page.items], next_cursor=page.next_cursor)


@router.post("/{webhook_id}/deliveries/{delivery_id}/replay", status_code=202)
def replay_delivery(
    webhook_id: WebhookId, delivery_id: DeliveryId, lore: LoreDep, tenant: TenantDep, audit: AuditDep
) -> DeliveryOut:
    """Send a delivery's event again, as a new delivery (same webhook-id)."""
    delivery = lore.webhooks.replay(tenant, webhook_id, delivery_id)
    audit.record("webhook.replayed", target=webhook_id, summary={"delivery_id": delivery_id})
    return DeliveryOut.of(delivery)
