"""A tenant's administration: its audit log, provider secrets, settings and webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from lore_client._pages import Page
from lore_client._routes import OMIT, Call, M, Namespace, Omitted, changes, endpoint, given, paged
from lore_client.types import AuditRecord, Delivery, JSONObject, Secret, Strings, Webhook, WebhookCreated


def _audit_query(
    actor: str | None, action: str | None, target: str | None, since: str | None, until: str | None
) -> dict[str, object]:
    return {"actor": actor, "action": action, "target": target, "since": since, "until": until}


class Audit(Namespace[M]):
    name = "audit"

    @paged("/v1/audit")
    def list(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
    ) -> Call[Page[AuditRecord]]:
        """The tenant's audit records (hash-chained), newest first."""
        return Call(query={**_audit_query(actor, action, target, since, until), "limit": limit})

    @endpoint("GET", "/v1/audit/export")
    def export(
        self,
        *,
        format: Literal["csv", "jsonl"] = "jsonl",
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Call[str]:
        return Call(
            query={**_audit_query(actor, action, target, since, until), "format": format}, expect="text"
        )


class Secrets(Namespace[M]):
    """Provider secrets, stored encrypted; only their masked form is ever returned."""

    name = "secrets"

    @endpoint("GET", "/v1/secrets")
    def list(self) -> Call[list[Secret]]:
        return Call(unwrap="items")

    @endpoint("PUT", "/v1/secrets/{name}")
    def set(self, name: str, value: str) -> Call[Secret]:
        return Call(path={"name": name}, json={"value": value})

    @endpoint("DELETE", "/v1/secrets/{name}")
    def delete(self, name: str) -> Call[None]:
        return Call(path={"name": name}, expect="empty")


class TenantSettings(Namespace[M]):
    """The caller's tenant's own settings: allowed providers, MFA for admins, single sign-on, quotas and rate
    limits."""

    name = "tenant_settings"

    @endpoint("GET", "/v1/tenant/settings")
    def get(self) -> Call[JSONObject]:
        return Call()

    @endpoint("PATCH", "/v1/tenant/settings")
    def update(self, changes: Mapping[str, Any]) -> Call[JSONObject]:
        """A merge patch: `{"rate_limits": {"key": "600/minute"}}` changes that one, null resets one."""
        return Call(json=dict(changes))


class Webhooks(Namespace[M]):
    name = "webhooks"

    @endpoint("POST", "/v1/webhooks")
    def create(
        self,
        url: str,
        events: Strings,
        *,
        collections: Strings | None = None,
        description: str | None = None,
    ) -> Call[WebhookCreated]:
        """A webhook for `events` (document.indexed, job.failed, ...); its signing `secret` is in this
        answer only."""
        options = given(collections=collections, description=description)
        return Call(json={"url": url, "events": events, **options})

    @paged("/v1/webhooks")
    def list(self, *, limit: int | None = None) -> Call[Page[Webhook]]:
        return Call(query={"limit": limit})

    @endpoint("GET", "/v1/webhooks/{webhook_id}")
    def get(self, webhook_id: str) -> Call[Webhook]:
        return Call(path={"webhook_id": webhook_id})

    @endpoint("PATCH", "/v1/webhooks/{webhook_id}")
    def update(
        self,
        webhook_id: str,
        *,
        url: str | Omitted = OMIT,
        events: Strings | Omitted = OMIT,
        collections: Strings | Omitted | None = OMIT,
        description: str | Omitted = OMIT,
        enabled: bool | Omitted = OMIT,
    ) -> Call[Webhook]:
        fields = changes(
            url=url, events=events, collections=collections, description=description, enabled=enabled
        )
        return Call(path={"webhook_id": webhook_id}, json=fields)

    @endpoint("DELETE", "/v1/webhooks/{webhook_id}")
    def delete(self, webhook_id: str) -> Call[None]:
        return Call(path={"webhook_id": webhook_id}, expect="empty")

    @endpoint("POST", "/v1/webhooks/{webhook_id}/rotate")
    def rotate(self, webhook_id: str) -> Call[WebhookCreated]:
        """A new signing secret; the previous one still signs for a while."""
        return Call(path={"webhook_id": webhook_id})

    @paged("/v1/webhooks/{webhook_id}/deliveries")
    def deliveries(self, webhook_id: str, *, limit: int | None = None) -> Call[Page[Delivery]]:
        return Call(path={"webhook_id": webhook_id}, query={"limit": limit})

    @endpoint("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay")
    def replay(self, webhook_id: str, delivery_id: str) -> Call[Delivery]:
        return Call(path={"webhook_id": webhook_id, "delivery_id": delivery_id})
