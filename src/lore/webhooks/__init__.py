"""Signed webhooks: tenants' endpoints receive Lore's events (`lore.bus`), signed per Standard Webhooks and
delivered by the job system.

addresses.py   the SSRF guard: where an endpoint may point
signing.py     `whsec_` secrets and the webhook-id / -timestamp / -signature headers
delivery.py    `Deliveries`: an event to one job per endpoint, each attempt sent, logged, retried
endpoints.py   `Webhooks`: create, update, rotate, delivery log and replay (what the API calls)
"""

from lore.webhooks.addresses import WebhookUrlRefused, check_url
from lore.webhooks.delivery import JOB_KIND, Deliveries, DeliveryFailed
from lore.webhooks.endpoints import Created, Subscription, Webhooks

__all__ = [
    "JOB_KIND",
    "Created",
    "Deliveries",
    "DeliveryFailed",
    "Subscription",
    "WebhookUrlRefused",
    "Webhooks",
    "check_url",
]
