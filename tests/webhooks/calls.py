"""The API calls the webhook tests make: subscribe an endpoint, index a document (an event), read the log."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.conftest import upload
from tests.waiting import wait_for


def subscribe(client: httpx.Client, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/webhooks", json={"url": url, "events": events, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def index(client: httpx.Client, collection: str = "default") -> str:
    """Upload a new document into `collection`; its id."""
    text = f"# Refunds {uuid.uuid4().hex}\n\nRefunds take five business days."
    response = upload(client, f"{uuid.uuid4().hex}.md", text, "text/markdown", collection=collection)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


def deliveries(client: httpx.Client, webhook_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def settled(client: httpx.Client, webhook_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The endpoint's deliveries once `count` of them are delivered or given up."""

    def done() -> list[dict[str, Any]] | None:
        items = deliveries(client, webhook_id)
        finished = [d for d in items if d["state"] != "pending"]
        return items if len(finished) >= count else None

    return wait_for(done, f"{count} settled deliveries of {webhook_id}")
