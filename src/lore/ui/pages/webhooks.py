"""Webhooks: the tenant's endpoints with their state and last delivery, a form that subscribes one (its signing
secret shown this once, with a copy button), enable or disable, rotate the secret and delete on each, and an
endpoint's page with its delivery log and a Replay button per delivery. Every change is the API's own handler
(`lore.api.routes.webhooks`), so it is checked, validated and audited exactly as through `/v1/webhooks`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Query, Request, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep
from lore.api.routes import webhooks as api_webhooks
from lore.bus import EVENT_TYPES
from lore.security.principal import Principal
from lore.service import Lore
from lore.ui.pages.search import collection_names
from lore.ui.rendering import render
from lore.ui.routing import go_to, page_router
from lore.wire.webhooks import DeliveryOut, WebhookCreated, WebhookIn, WebhookOut, WebhookPatch

router = page_router()
WebhookId = Annotated[str, Path(min_length=1, max_length=64)]
DeliveryId = Annotated[str, Path(min_length=1, max_length=64)]
Names = Annotated[list[str], Form(max_length=100)]
PAGE_SIZE = 200
LOG_SIZE = 50


def all_webhooks(lore: Lore, tenant: str) -> list[WebhookOut]:
    """Every endpoint of the tenant, newest first, read page by page as the API lists them."""
    webhooks: list[WebhookOut] = []
    cursor: str | None = None
    while True:
        page = api_webhooks.list_webhooks(lore, tenant, limit=PAGE_SIZE, cursor=cursor)
        webhooks.extend(page.items)
        if page.next_cursor is None:
            return webhooks
        cursor = page.next_cursor


def last_deliveries(lore: Lore, tenant: str, webhooks: list[WebhookOut]) -> dict[str, DeliveryOut]:
    """Each endpoint's newest delivery, for those that had one."""
    newest = {w.id: api_webhooks.list_deliveries(w.id, lore, tenant, limit=1).items for w in webhooks}
    return {webhook_id: items[0] for webhook_id, items in newest.items() if items}


def _context(lore: Lore, principal: Principal, **more: Any) -> dict[str, Any]:
    """The endpoints with their last delivery, and what a new one may subscribe to."""
    webhooks = all_webhooks(lore, principal.tenant_id)
    return {
        "webhooks": webhooks,
        "last": last_deliveries(lore, principal.tenant_id, webhooks),
        "event_types": EVENT_TYPES,
        "collections": collection_names(lore, principal),
        **more,
    }


def _log(lore: Lore, tenant: str, webhook_id: str, cursor: str | None, **more: Any) -> dict[str, Any]:
    """One endpoint and a page of its delivery log, newest first."""
    page = api_webhooks.list_deliveries(webhook_id, lore, tenant, limit=LOG_SIZE, cursor=cursor)
    webhook = api_webhooks.get_webhook(webhook_id, lore, tenant)
    return {
        "webhook": webhook,
        "deliveries": page.items,
        "cursor": cursor,
        "next_cursor": page.next_cursor,
        **more,
    }


def _shown(request: Request, context: dict[str, Any], created: WebhookCreated, message: str) -> Response:
    """The endpoint's signing secret, once, with the list it is now in and a message."""
    return render(
        request, "webhooks.html", {**context, "created": created, "flash": message}, block="created"
    )


@router.get("/webhooks")
def webhooks_page(request: Request, lore: LoreDep, principal: PrincipalDep) -> Response:
    return render(request, "webhooks.html", _context(lore, principal))


@router.post("/webhooks")
def create_webhook(
    request: Request,
    lore: LoreDep,
    principal: PrincipalDep,
    audit: AuditDep,
    url: Annotated[str, Form(max_length=2000)] = "",
    events: Names = [],  # noqa: B006 - FastAPI copies a form's defaults
    collections: Names = [],  # noqa: B006
    description: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """No collection ticked: events of every collection (and those of none)."""
    body = WebhookIn.model_validate(
        {"url": url.strip(), "events": events, "collections": collections or None, "description": description}
    )
    created = api_webhooks.create_webhook(body, lore, principal.tenant_id, audit)
    return _shown(request, _context(lore, principal), created, f"Endpoint {created.url} subscribed.")


@router.patch("/webhooks/{webhook_id}")
def set_enabled(
    request: Request,
    webhook_id: WebhookId,
    lore: LoreDep,
    principal: PrincipalDep,
    audit: AuditDep,
    enabled: Annotated[bool, Form()],
    on: Annotated[str, Form(max_length=10)] = "list",
) -> Response:
    """Enabled (its run of failures starts afresh) or disabled; `on` says which view the change came from."""
    body = WebhookPatch.model_validate({"enabled": enabled})
    webhook = api_webhooks.update_webhook(webhook_id, body, lore, principal.tenant_id, audit)
    message = f"Endpoint {webhook.url} {'enabled' if webhook.enabled else 'disabled: it receives nothing'}."
    if on == "detail":
        context = _log(lore, principal.tenant_id, webhook_id, None, flash=message)
        return render(request, "webhook.html", context, block="endpoint")
    return render(request, "webhooks.html", _context(lore, principal, flash=message), block="list")


@router.post("/webhooks/{webhook_id}/rotate")
def rotate_secret(
    request: Request, webhook_id: WebhookId, lore: LoreDep, principal: PrincipalDep, audit: AuditDep
) -> Response:
    """A new signing secret, shown once; the previous one keeps signing beside it for the overlap."""
    created = api_webhooks.rotate_secret(webhook_id, lore, principal.tenant_id, audit)
    until = created.previous_secret_until
    overlap = f" the old one also signs until {until:%Y-%m-%d %H:%M} UTC" if until else ""
    message = f"Secret of {created.url} rotated:{overlap or ' the old one no longer signs'}."
    return _shown(request, _context(lore, principal), created, message)


@router.delete("/webhooks/{webhook_id}")
def delete_webhook(
    request: Request,
    webhook_id: WebhookId,
    lore: LoreDep,
    principal: PrincipalDep,
    audit: AuditDep,
    on: Annotated[str, Query(max_length=10)] = "list",
) -> Response:
    """Deleted with its log; from its own page, back to the list."""
    webhook = api_webhooks.get_webhook(webhook_id, lore, principal.tenant_id)
    api_webhooks.delete_webhook(webhook_id, lore, principal.tenant_id, audit)
    message = f"Endpoint {webhook.url} deleted, with its delivery log."
    if on == "detail":
        return go_to(request, "/webhooks")
    return render(request, "webhooks.html", _context(lore, principal, flash=message), block="list")


@router.get("/webhooks/{webhook_id}")
def webhook_page(
    request: Request,
    webhook_id: WebhookId,
    lore: LoreDep,
    principal: PrincipalDep,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    return render(request, "webhook.html", _log(lore, principal.tenant_id, webhook_id, cursor))


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/replay")
def replay_delivery(
    request: Request,
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    lore: LoreDep,
    principal: PrincipalDep,
    audit: AuditDep,
) -> Response:
    """The delivery's event sent again, as a new delivery heading the log."""
    replayed = api_webhooks.replay_delivery(webhook_id, delivery_id, lore, principal.tenant_id, audit)
    message = f"{replayed.event_type} sent again, as a new delivery."
    context = _log(lore, principal.tenant_id, webhook_id, None, flash=message)
    return render(request, "webhook.html", context, block="log")
