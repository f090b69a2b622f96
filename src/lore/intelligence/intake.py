"""Client events into the store, for the API and `lore events import` alike.

A batch is taken whole or refused whole: every event must keep its kind's contract (`events.check`), name only
documents the sender may read (another's restricted document is not found, as a missing one is), and give
feedback only on answers in conversations the sender sees. Each event is attributed to the user the sender may
speak for (`access.event_user`) and stored once per event id: a batch sent again stores nothing new.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from lore.backends.store.access_records import no_document
from lore.bus import BusEvent, EventBus
from lore.errors import LoreError
from lore.intelligence.events import ClientEvent, EventCounts, InvalidEvent, check, is_negative, stored
from lore.models import Event, utcnow
from lore.names import check_name
from lore.security.access import collections_for, conversation_viewer, event_user, readers_of
from lore.security.principal import Principal

if TYPE_CHECKING:
    from lore.backends.store.database import Database


class Accepted(NamedTuple):
    accepted: int  # stored now
    duplicates: int  # stored before (or twice in the batch): not stored again


class EventIntake:
    def __init__(self, db: Database, counts: EventCounts, bus: EventBus | None = None) -> None:
        self.db = db
        self.counts = counts
        self.bus = bus

    def accept(
        self, principal: Principal, batch: Sequence[ClientEvent], now: datetime | None = None
    ) -> Accepted:
        """Store the batch's new events in one transaction; a `LoreError` naming the event's `index` refuses
        the whole batch."""
        now = now or utcnow()
        try:
            events = self._checked(principal, batch, now)
        except LoreError:
            self._count(batch, "rejected")
            raise
        fresh, again = self._split(principal.tenant_id, events)
        accepted = self.db.events.append(fresh)
        self._count(fresh, "stored")
        self._announce(fresh)
        self._count(again, "duplicate")
        return Accepted(accepted, len(batch) - accepted)

    def _announce(self, events: Sequence[Event]) -> None:
        if self.bus is None:
            return
        for event in events:
            if is_negative(event):
                self.bus.publish(
                    BusEvent("feedback.negative", event.tenant_id, _feedback(event), event.collection)
                )

    def _checked(self, principal: Principal, batch: Sequence[ClientEvent], now: datetime) -> list[Event]:
        checked = []
        for index, event in enumerate(batch):
            with _about(index):
                checked.append(check(event, now))
        wanted = [event.document_id for event in checked if event.document_id is not None]
        found = self.db.documents.readable_collections(principal.tenant_id, wanted, readers_of(principal))
        events = []
        for index, event in enumerate(checked):
            with _about(index):
                events.append(self._event(principal, event, found, now))
        return events

    def _event(self, principal: Principal, event: ClientEvent, found: dict[str, str], now: datetime) -> Event:
        if event.document_id is not None:
            collection = found.get(event.document_id)
            if collection is None or not principal.can_use_collection(collection):
                raise no_document(event.document_id)
            event = replace(event, collection=collection)  # the document's own, whatever the client said
        elif event.collection is not None:
            collections_for(principal, [check_name("collection", event.collection)])
        if event.conversation_id is not None and event.message_id is not None:
            self._check_answer(principal, event.conversation_id, event.message_id)
        user = event_user(principal, event.user_id)
        return stored(event, principal.tenant_id, actor=principal.actor, user_id=user, received_at=now)

    def _check_answer(self, principal: Principal, conversation_id: str, message_id: int) -> None:
        viewer = conversation_viewer(principal)
        message = self.db.conversations.message(principal.tenant_id, conversation_id, message_id, viewer)
        if message.role != "assistant":
            raise InvalidEvent(
                "feedback is given on an answer, not on a question",
                details={"conversation_id": conversation_id, "message_id": message_id},
            )

    def _split(self, tenant_id: str, events: Sequence[Event]) -> tuple[list[Event], list[Event]]:
        """The events not stored before, each id once (the first of the batch that carries it), and the rest."""
        seen = self.db.events.existing(tenant_id, [event.event_id for event in events])
        fresh: list[Event] = []
        again: list[Event] = []
        for event in events:
            (again if event.event_id in seen else fresh).append(event)
            seen.add(event.event_id)
        return fresh, again

    def _count(self, events: Iterable[ClientEvent | Event], outcome: str) -> None:
        for kind, n in Counter(event.kind for event in events).items():
            self.counts.add(kind, outcome, n)


def _feedback(event: Event) -> dict[str, object]:
    fields = (
        "event_id",
        "kind",
        "document_id",
        "conversation_id",
        "message_id",
        "search_id",
        "value",
        "reason",
    )
    return {name: getattr(event, name) for name in fields if getattr(event, name) is not None}


@contextmanager
def _about(index: int) -> Iterator[None]:
    """An error raised inside names the batch's event it is about."""
    try:
        yield
    except LoreError as error:
        error.details = {**error.details, "index": index}
        raise
