"""Events: what clients say happened, checked against the contract of each kind, and what the server saw,
recorded without making a request wait.

    >>> event = check(ClientEvent("e-1", "click", document_id="d1", search_id="s1", rank=2), now)
    >>> db.events.append([stored(event, "default", actor="key:abc", user_id=None, received_at=now)])
    >>> lore.events.record(search_event(asker, search_id, request, hits))  # buffered, written in batches

Each client kind names the fields it needs (docs/events.md): a field a kind does not use is refused rather than
stored with a meaning nobody gave it. `at` may be a few minutes ahead of the server's clock (clients' clocks
drift) and at most `MAX_AGE` old. Server events (`search`, `answer`) are buffered by `EventRecorder` and written
by a background thread every `flush_seconds` or `flush_events` events, and on close; a write that fails is
logged and counted, never raised into the request that recorded it.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from lore.errors import InvalidInput
from lore.models import Event, Hit, as_utc, utcnow

logger = logging.getLogger("lore.events")

CLIENT_KINDS = ("view", "click", "helpful", "not_helpful", "rating", "resolved")
SERVER_KINDS = ("search", "answer", "classified")
MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=5 * 365)
MAX_ID_CHARS = 128  # event, user, document, search and conversation ids, and collections
MAX_TEXT_CHARS = 1000  # a click's query, a feedback's reason
MAX_DATA_BYTES = 4096  # a client event's `data`, as JSON
MAX_RANK = 1000
MAX_ROW_ID = 2**63 - 1  # chunk and message ids are 64-bit row ids

_COMMON = frozenset({"event_id", "kind", "at", "user_id", "data"})
_FEEDBACK = frozenset({"document_id", "conversation_id", "message_id", "search_id", "reason", "collection"})
# kind -> (fields it needs, fields it may carry besides those and the common ones)
RULES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "view": (frozenset({"document_id"}), frozenset({"collection"})),
    "click": (
        frozenset({"document_id"}),
        frozenset({"search_id", "query", "chunk_id", "rank", "collection"}),
    ),
    "helpful": (frozenset(), _FEEDBACK),
    "not_helpful": (frozenset(), _FEEDBACK),
    "rating": (frozenset({"document_id", "value"}), frozenset({"reason", "collection"})),
    "resolved": (frozenset({"document_id"}), frozenset({"collection"})),
}


NEGATIVE_RATING = 2  # ratings of this or below are negative feedback


def is_negative(event: Event) -> bool:
    """Feedback saying an answer or a document did not help: `not_helpful`, or a rating of 1 or 2."""
    if event.kind == "not_helpful":
        return True
    return event.kind == "rating" and event.value is not None and event.value <= NEGATIVE_RATING


class InvalidEvent(InvalidInput):
    code = "invalid_event"


class UnknownEventKind(InvalidEvent):
    code = "unknown_event_kind"


class EventFieldMissing(InvalidEvent):
    code = "event_field_missing"


class EventFieldNotAllowed(InvalidEvent):
    code = "event_field_not_allowed"


class EventTimeOutOfRange(InvalidEvent):
    code = "event_time_out_of_range"


@dataclass(frozen=True, slots=True)
class ClientEvent:
    """An event as a client sends it: `event_id` is its idempotency key (the same id is stored once), `at`
    when it happened (None: when it was received)."""

    event_id: str
    kind: str
    at: datetime | None = None
    user_id: str | None = None
    document_id: str | None = None
    chunk_id: int | None = None
    collection: str | None = None
    search_id: str | None = None
    conversation_id: str | None = None
    message_id: int | None = None
    query: str | None = None
    rank: int | None = None
    value: float | None = None
    reason: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def given(self) -> set[str]:
        """The fields it sets (an empty `data` is no field)."""
        return {f.name for f in fields(self) if getattr(self, f.name) not in (None, {})}


def check(event: ClientEvent, now: datetime) -> ClientEvent:
    """The event if it keeps its kind's contract, with `at` in UTC; else an `InvalidEvent` naming the field."""
    if event.kind not in RULES:
        raise UnknownEventKind(
            f"kind must be one of {', '.join(CLIENT_KINDS)}",
            details={"event_id": event.event_id[:MAX_ID_CHARS], "kind": event.kind[:64]},
        )
    _check_text(event)
    needed, optional = RULES[event.kind]
    given = event.given()
    if missing := sorted(needed - given):
        raise _missing(event, missing[0])
    if unused := sorted(given - needed - optional - _COMMON):
        raise EventFieldNotAllowed(
            f"a {event.kind} event does not carry {unused[0]}", details=_where(event, unused[0])
        )
    _check_kind(event)
    _check_numbers(event)
    return event if event.at is None else _with_time(event, now)


def _where(event: ClientEvent, name: str) -> dict[str, Any]:
    return {"event_id": event.event_id, "kind": event.kind, "field": name}


def _missing(event: ClientEvent, name: str, why: str = "") -> EventFieldMissing:
    return EventFieldMissing(f"a {event.kind} event needs {name}{why}", details=_where(event, name))


def _check_text(event: ClientEvent) -> None:
    bounds = {"query": MAX_TEXT_CHARS, "reason": MAX_TEXT_CHARS}
    for name in ("event_id", "user_id", "document_id", "collection", "search_id", "conversation_id"):
        bounds[name] = MAX_ID_CHARS
    for name, most in bounds.items():
        text = getattr(event, name)
        if text is None:
            continue
        least = 0 if name in ("query", "reason") else 1
        if not least <= len(text) <= most or "\x00" in text:
            raise InvalidEvent(
                f"{name} must be {least} to {most} characters, without NUL",
                details={"event_id": event.event_id[:MAX_ID_CHARS], "field": name},
            )
    if not event.event_id.isprintable():
        raise InvalidEvent("event_id must be printable", details={"field": "event_id"})
    if len(json.dumps(dict(event.data), default=str)) > MAX_DATA_BYTES:
        raise InvalidEvent(
            f"data must be at most {MAX_DATA_BYTES} bytes of JSON", details=_where(event, "data")
        )


def _check_kind(event: ClientEvent) -> None:
    """What a kind's field list alone cannot say: which fields go together."""
    if event.kind == "click" and event.search_id is not None and event.rank is None:
        raise _missing(event, "rank", " when it names the search it follows")
    if event.kind in ("helpful", "not_helpful"):
        if (event.conversation_id is None) != (event.message_id is None):
            raise _missing(event, "message_id" if event.message_id is None else "conversation_id", " (both)")
        if event.document_id is None and event.message_id is None and event.search_id is None:
            raise _missing(event, "document_id, conversation_id and message_id, or search_id")
    if event.kind == "rating" and (event.value not in range(1, 6)):
        raise InvalidEvent("a rating's value is a whole number from 1 to 5", details=_where(event, "value"))
    if event.kind == "resolved" and not isinstance(event.data.get("ticket_id", ""), str):
        raise InvalidEvent("data.ticket_id is a string", details=_where(event, "data"))


def _check_numbers(event: ClientEvent) -> None:
    if event.rank is not None and not 1 <= event.rank <= MAX_RANK:
        raise InvalidEvent(f"rank is 1-based, at most {MAX_RANK}", details=_where(event, "rank"))
    for name in ("chunk_id", "message_id"):
        number = getattr(event, name)
        if number is not None and not 1 <= number <= MAX_ROW_ID:
            raise InvalidEvent(f"{name} is a positive 64-bit id", details=_where(event, name))


def _with_time(event: ClientEvent, now: datetime) -> ClientEvent:
    at = as_utc(event.at)
    assert at is not None
    if not now - MAX_AGE <= at <= now + MAX_FUTURE:
        raise EventTimeOutOfRange(
            f"at must be within the last {MAX_AGE.days} days and at most "
            f"{int(MAX_FUTURE.total_seconds() // 60)} minutes ahead of the server's clock",
            details={**_where(event, "at"), "at": at.isoformat(), "now": now.isoformat()},
        )
    return replace(event, at=at)


def stored(
    event: ClientEvent, tenant_id: str, *, actor: str, user_id: str | None, received_at: datetime
) -> Event:
    """A checked client event as the store keeps it: `user_id` and `actor` are whom the server attributes it
    to (`lore.security.access.event_user`), never the client's word alone."""
    values = {f.name: getattr(event, f.name) for f in fields(event)}
    values |= {"at": event.at or received_at, "user_id": user_id, "data": dict(event.data)}
    return Event(tenant_id, received_at=received_at, actor=actor, **values)


# -- the server's own events ---------------------------------------------------------------------------------


class Asker(NamedTuple):
    """Who a server event is recorded for: the principal's actor and, for a publishable key, its end user."""

    tenant_id: str
    actor: str
    user_id: str | None = None


def new_id() -> str:
    """A search id or a server event's id: random, so no client can name one before it exists."""
    return uuid.uuid4().hex


def normal_query(text: str) -> str:
    """The query as analytics compare it: whitespace collapsed (case is folded when aggregating)."""
    return " ".join(text.split())


def search_event(
    asker: Asker, search_id: str, query: str, mode: str, collection: str | None, hits: Sequence[Hit]
) -> Event:
    now = utcnow()
    data = {
        "mode": mode,
        "hits": len(hits),
        "document_ids": [hit.chunk.document_id for hit in hits],
        "chunk_ids": [hit.chunk.id for hit in hits],
    }
    return Event(
        asker.tenant_id,
        new_id(),
        "search",
        now,
        now,
        asker.actor,
        asker.user_id,
        collection=collection,
        search_id=search_id,
        query=normal_query(query),
        value=hits[0].score if hits else None,
        data=data,
    )


@dataclass(frozen=True, slots=True)
class Answered:
    """What an `answer` event records of one answer: `confidence` is the best passage's retrieval score
    (0..1; None when no passage had one), `document_ids` the cited documents in citation order."""

    search_id: str
    question: str
    abstained: bool
    provider: str
    confidence: float | None
    document_ids: Sequence[str]
    conversation_id: str | None = None
    message_id: int | None = None


def answer_event(asker: Asker, answered: Answered) -> Event:
    now = utcnow()
    data = {
        "abstained": answered.abstained,
        "provider": answered.provider,
        "document_ids": list(dict.fromkeys(answered.document_ids)),
    }
    return Event(
        asker.tenant_id,
        new_id(),
        "answer",
        now,
        now,
        asker.actor,
        asker.user_id,
        search_id=answered.search_id,
        conversation_id=answered.conversation_id,
        message_id=answered.message_id,
        query=answered.question,
        value=answered.confidence,
        data=data,
    )


class EventSink(Protocol):
    """Where recorded events go: `EventRecords.append`."""

    def append(self, batch: Sequence[Event]) -> int: ...


class EventCounts:
    """Events by (kind, outcome) since start, for /metrics: `stored`, `duplicate` and `rejected` (a client's),
    `stored`, `failed` (the write failed) and `dropped` (the buffer was full) (the server's)."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, kind: str, outcome: str, n: int = 1) -> None:
        label = kind if kind in CLIENT_KINDS or kind in SERVER_KINDS else "other"
        with self._lock:
            self._counts[(label, outcome)] += n

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)


class EventRecorder:
    """The server's events, buffered in memory and appended in batches by one background thread (started with
    the first event), so that recording costs a request an append to a list. `enabled` False
    (`LORE_RECORD_SEARCHES` off): nothing is recorded."""

    def __init__(
        self,
        sink: EventSink,
        *,
        enabled: bool = True,
        flush_seconds: float = 1.0,
        flush_events: int = 200,
        capacity: int = 10_000,
        counts: EventCounts | None = None,
    ) -> None:
        self.sink = sink
        self.enabled = enabled
        self.flush_seconds = flush_seconds
        self.flush_events = flush_events
        self.capacity = capacity
        self.counts = counts or EventCounts()
        self._buffer: list[Event] = []
        self._wake = threading.Condition()
        self._writing = (
            threading.Lock()
        )  # one batch written at a time: flush() returns after every earlier one
        self._thread: threading.Thread | None = None
        self._closed = False

    def record(self, event: Event) -> None:
        if not self.enabled:
            return
        with self._wake:
            if self._closed or len(self._buffer) >= self.capacity:
                self.counts.add(event.kind, "dropped")
                return
            self._buffer.append(event)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lore-events", daemon=True)
                self._thread.start()
            if len(self._buffer) >= self.flush_events:
                self._wake.notify()

    def flush(self) -> int:
        """Write what is buffered now; how many were stored (0 also when the write failed: it is logged)."""
        with self._writing:
            with self._wake:
                batch, self._buffer = self._buffer, []
            if not batch:
                return 0
            kinds = Counter(event.kind for event in batch)
            try:
                stored = self.sink.append(batch)
            except Exception:
                logger.exception("recording %d server events failed; they are lost", len(batch))
                outcome = "failed"
                stored = 0
            else:
                outcome = "stored"
            for kind, n in kinds.items():
                self.counts.add(kind, outcome, n)
            return stored

    def close(self) -> None:
        """Stop the thread and write what is left; events recorded afterwards are dropped."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        self.flush()

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(
                    lambda: self._closed or len(self._buffer) >= self.flush_events, self.flush_seconds
                )
                closed = self._closed
            self.flush()
            if closed:
                return
