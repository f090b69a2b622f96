"""Deliveries: an event on the bus becomes one delivery per subscribed endpoint, each sent by its own job
(`webhook_delivery`), so deliveries are durable, at least once, and retried with the jobs' exponential backoff.

    event ─▶ Deliveries.on_event ─▶ delivery row + job ─▶ worker: Deliveries.deliver ─▶ signed POST
                                                             └ failed: the job retries it, until its attempts
                                                               run out; an endpoint failing long enough is
                                                               disabled (audited, and a `webhook.disabled` event)
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from lore.backends.store.webhook_records import DeliveryRecord, WebhookRecord
from lore.bus import BusEvent, EventBus
from lore.config import WebhooksSettings
from lore.errors import NotFound, Unavailable
from lore.jobs.runner import WEBHOOK_JOB, retry_delay
from lore.models import utcnow
from lore.security.audit import AuditLog
from lore.security.secrets import SecretBox
from lore.webhooks.addresses import WebhookUrlRefused, check_url
from lore.webhooks.signing import headers

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.jobs import JobQueue

logger = logging.getLogger("lore.webhooks")

JOB_KIND = WEBHOOK_JOB
SPARE_JOB_ATTEMPTS = 2  # a job run cut short by a dying worker spends a job attempt but no delivery attempt
ENDPOINTS_TTL_SECONDS = 2.0  # how long another process's new endpoint may go unseen by this one
MAX_ERROR_CHARS = 500
SYSTEM_ACTOR = "lore"


class DeliveryFailed(Unavailable):
    """One attempt failed (an error status, a timeout, a refused connection): the job tries again later."""

    code = "webhook_delivery_failed"


def payload_of(event: BusEvent) -> str:
    """The body sent, per Standard Webhooks: `type`, `timestamp` and the event's `data`."""
    data = {**event.data, "collection": event.collection} if event.collection else dict(event.data)
    body = {"type": event.type, "timestamp": event.at.isoformat(), "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str)


def wants(webhook: WebhookRecord, event: BusEvent) -> bool:
    if event.type not in webhook.events:
        return False
    return webhook.collections is None or event.collection in webhook.collections


class Deliveries:
    """Fans the bus's events out to endpoints and sends each delivery; the queue and the secret box are opened
    on first use, so a Lore whose tenants have no webhooks needs neither."""

    def __init__(
        self,
        db: Database,
        settings: WebhooksSettings,
        open_queue: Callable[[], JobQueue],
        open_box: Callable[[], SecretBox],
    ) -> None:
        self.db = db
        self.settings = settings
        self._open_queue = open_queue
        self._open_box = open_box
        self._queue: JobQueue | None = None
        self._box: SecretBox | None = None
        self._lock = threading.Lock()
        self._endpoints: dict[str, tuple[float, list[WebhookRecord]]] = {}
        self.bus: EventBus | None = None
        self._http: httpx.Client | None = None

    @property
    def queue(self) -> JobQueue:
        with self._lock:
            if self._queue is None:
                self._queue = self._open_queue()
            return self._queue

    @property
    def box(self) -> SecretBox:
        with self._lock:
            if self._box is None:
                self._box = self._open_box()
            return self._box

    @property
    def http(self) -> httpx.Client:
        """One client for every delivery of this process: a client per request would build a TLS context
        each time (~25 ms of a ~35 ms delivery)."""
        with self._lock:
            if self._http is None:
                self._http = httpx.Client(
                    timeout=self.settings.webhook_timeout_seconds, follow_redirects=False
                )
            return self._http

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None
            if self._queue is not None:
                self._queue.close()
                self._queue = None

    def attach(self, bus: EventBus) -> None:
        self.bus = bus
        bus.subscribe(self.on_event)

    def changed(self, tenant_id: str) -> None:
        """An endpoint of the tenant changed here: the next event reads them afresh."""
        self._endpoints.pop(tenant_id, None)

    def _enabled(self, tenant_id: str) -> list[WebhookRecord]:
        now = time.monotonic()
        cached = self._endpoints.get(tenant_id)
        if cached is not None and now - cached[0] < ENDPOINTS_TTL_SECONDS:
            return cached[1]
        endpoints = self.db.webhooks.enabled(tenant_id)
        self._endpoints[tenant_id] = (now, endpoints)
        return endpoints

    def on_event(self, event: BusEvent) -> None:
        for webhook in self._enabled(event.tenant_id):
            if wants(webhook, event):
                self.enqueue(webhook, event.id, event.type, payload_of(event))

    def enqueue(self, webhook: WebhookRecord, event_id: str, event_type: str, payload: str) -> DeliveryRecord:
        """Record a delivery and submit its job (a delivery without a job is sent by none: the row comes first,
        the job names it, and the job id is written back for the log)."""
        values = {
            "id": f"dlv_{uuid.uuid4().hex}",
            "tenant_id": webhook.tenant_id,
            "webhook_id": webhook.id,
            "event_id": event_id,
            "event_type": event_type,
            "payload": payload,
            "next_attempt_at": utcnow(),
        }
        delivery = self.db.webhooks.add_delivery(values)
        job = self.queue.submit(JOB_KIND, {"delivery_id": delivery.id}, tenant_id=webhook.tenant_id)
        self.db.webhooks.set_delivery(delivery.id, {"job_id": job.id})
        return replace(delivery, job_id=job.id)

    def deliver(self, tenant_id: str, delivery_id: str) -> dict[str, Any]:
        """One attempt of a pending delivery; `DeliveryFailed` when the job should try again."""
        delivery = self.db.webhooks.delivery(tenant_id, delivery_id)
        if delivery is None:
            raise NotFound(f"no webhook delivery {delivery_id!r}", details={"delivery_id": delivery_id})
        if delivery.state != "pending":  # delivered (or given up) by an earlier run: at least once, not more
            return {"state": delivery.state}
        webhook = self.db.webhooks.get(tenant_id, delivery.webhook_id)
        if webhook is None or not webhook.enabled:
            return self._give_up(
                delivery, "the endpoint is disabled" if webhook else "the endpoint was deleted"
            )
        if delivery.attempts >= self.settings.webhook_attempts:  # a worker died after the last attempt
            return self._give_up(delivery, delivery.error or "its attempts ran out")
        try:
            check_url(webhook.url, allow_loopback=self.settings.webhook_allow_loopback)
        except WebhookUrlRefused as refused:
            return self._give_up(delivery, refused.message)
        return self._attempt(webhook, delivery)

    def _give_up(self, delivery: DeliveryRecord, why: str) -> dict[str, Any]:
        self.db.webhooks.set_delivery(delivery.id, {"state": "failed", "error": why, "next_attempt_at": None})
        return {"state": "failed", "error": why}

    def signing_secrets(self, webhook: WebhookRecord) -> list[str]:
        what = f"the signing secret of webhook {webhook.id}"
        signing = [self.box.decrypt(webhook.secret, what)]
        if webhook.previous_secret and webhook.previous_until and webhook.previous_until > utcnow():
            signing.append(self.box.decrypt(webhook.previous_secret, what))
        return signing

    def _attempt(self, webhook: WebhookRecord, delivery: DeliveryRecord) -> dict[str, Any]:
        sent = headers(delivery.event_id, delivery.payload, self.signing_secrets(webhook), utcnow())
        start = time.perf_counter()
        status: int | None = None
        try:
            response = self.http.post(
                webhook.url,
                content=delivery.payload.encode(),
                headers={**sent, "user-agent": "Lore-Webhooks"},
            )
            status = response.status_code
            error = None if 200 <= status < 300 else f"the endpoint answered {status}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"[:MAX_ERROR_CHARS]
        latency = round((time.perf_counter() - start) * 1000, 2)
        outcome = {"status_code": status, "latency_ms": latency, "error": error}
        if error is None:
            done = {**outcome, "state": "delivered", "delivered_at": utcnow(), "next_attempt_at": None}
            self.db.webhooks.attempted(delivery, done, succeeded=True)
            return {"state": "delivered", "status_code": status, "latency_ms": latency}
        return self._failed(delivery, outcome, error)

    def _failed(self, delivery: DeliveryRecord, outcome: dict[str, Any], error: str) -> dict[str, Any]:
        attempt = delivery.attempts + 1
        last = attempt >= self.settings.webhook_attempts
        wait = timedelta(seconds=retry_delay(attempt, self.settings.webhook_retry_base_seconds))
        later = {
            "state": "failed" if last else "pending",
            "next_attempt_at": None if last else utcnow() + wait,
        }
        webhook = self.db.webhooks.attempted(delivery, {**outcome, **later}, succeeded=False)
        if webhook is not None:
            self._maybe_disable(webhook)
        if last:
            return {"state": "failed", "error": error}
        raise DeliveryFailed(error, details={"delivery_id": delivery.id, "attempt": attempt})

    def _maybe_disable(self, webhook: WebhookRecord) -> None:
        """Disable an endpoint that failed `webhook_disable_after_failures` times in a row over at least
        `webhook_disable_after_seconds`; audited and announced once."""
        if webhook.failures < self.settings.webhook_disable_after_failures or webhook.failing_since is None:
            return
        if utcnow() - webhook.failing_since < timedelta(seconds=self.settings.webhook_disable_after_seconds):
            return
        reason = f"{webhook.failures} failed attempts in a row since {webhook.failing_since.isoformat()}"
        if not self.db.webhooks.disable(webhook.id, reason):
            return
        self.changed(webhook.tenant_id)
        logger.warning("webhook %s of tenant %r disabled: %s", webhook.id, webhook.tenant_id, reason)
        summary = {"url": webhook.url, "failures": webhook.failures, "reason": reason}
        AuditLog(self.db.audit).record(
            webhook.tenant_id, SYSTEM_ACTOR, "webhook.disabled", webhook.id, summary
        )
        if self.bus is not None:
            data = {"webhook_id": webhook.id, **summary}
            self.bus.publish(BusEvent("webhook.disabled", webhook.tenant_id, data))
