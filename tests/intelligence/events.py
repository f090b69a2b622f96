"""Events for the tests, as a client or the server would record them."""

from __future__ import annotations

import itertools
from typing import Any

from lore.backends.store.event_records import Event
from lore.models import utcnow

_numbers = itertools.count(1)


def event(kind: str, tenant_id: str = "default", **fields: Any) -> Event:
    now = utcnow()
    return Event(tenant_id, f"evt-{next(_numbers)}", kind, now, now, "key:test", **fields)
