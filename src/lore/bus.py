"""The event bus: what happened inside Lore (a document indexed, a job failed, an answer abstained), published
once by the part that saw it and handed to every subscriber (today: webhooks).

    >>> bus = EventBus()
    >>> bus.subscribe(lambda event: print(event.type))
    >>> bus.publish(BusEvent("document.deleted", "default", {"document_id": "d1"}, collection="faq"))
    document.deleted

A subscriber's failure is logged, never raised into the work that published the event.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from lore.models import utcnow

logger = logging.getLogger("lore.bus")

EventType = Literal[
    "document.indexed",
    "document.deleted",
    "ingest.failed",
    "job.failed",
    "answer.abstained",
    "feedback.negative",
    "webhook.disabled",
    "quota.near",
    "key.expiring",
    "source.synced",
    "sync.failed",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class BusEvent:
    """One thing that happened to a tenant; `collection` is set when it happened in one (filters use it)."""

    type: str
    tenant_id: str
    data: Mapping[str, Any]
    collection: str | None = None
    id: str = field(default_factory=new_event_id)
    at: datetime = field(default_factory=utcnow)


Subscriber = Callable[[BusEvent], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.append(subscriber)

    def publish(self, event: BusEvent) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:
                logger.exception("a subscriber failed on %s event %s", event.type, event.id)
