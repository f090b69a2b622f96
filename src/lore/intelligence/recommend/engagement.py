"""What events say about a user and an item: engagement (view, click, helpful, resolved, rating >= 4), rejection
(not_helpful, rating <= 2), or having seen it (any rating), as the events contract defines them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple

from lore.backends.store.event_records import Event

ENGAGING = frozenset({"view", "click", "helpful", "resolved"})
KINDS = frozenset({*ENGAGING, "not_helpful", "rating"})  # the kinds recommendations read
Polarity = Literal["positive", "negative", "neutral"]


def polarity(event: Event) -> Polarity | None:
    """None: the event is not about an article (an answer's or a search's feedback, a server event)."""
    if event.document_id is None or event.kind not in KINDS:
        return None
    if event.kind == "rating":
        value = event.value or 0.0
        return "positive" if value >= 4 else "negative" if value <= 2 else "neutral"
    return "negative" if event.kind == "not_helpful" else "positive"


class Engagement(NamedTuple):
    """One positive event, as models learn from it (`user_id` None: anonymous, popularity only)."""

    user_id: str | None
    document_id: str
    at: datetime


def engagements(events: Iterable[Event]) -> tuple[list[Engagement], set[tuple[str, str]]]:
    """The positive events, and the (user, document) pairs a user rejected: models learn nothing from an item a
    user rejected, however often they viewed it."""
    positive: list[Engagement] = []
    rejected: set[tuple[str, str]] = set()
    for event in events:
        kind = polarity(event)
        if kind == "positive" and event.document_id is not None:
            positive.append(Engagement(event.user_id, event.document_id, event.at))
        elif kind == "negative" and event.user_id is not None and event.document_id is not None:
            rejected.add((event.user_id, event.document_id))
    kept = [e for e in positive if e.user_id is None or (e.user_id, e.document_id) not in rejected]
    return kept, rejected


@dataclass(slots=True)
class History:
    """One user's events, as a request reads them: what they engaged with (most recent first, with when they
    last did), rejected or saw."""

    engaged: list[str] = field(default_factory=list)
    rejected: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    last: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Iterable[Event]) -> History:
        """`events` newest first."""
        history = cls()
        for event in events:
            kind = polarity(event)
            if kind is None or event.document_id is None:
                continue
            history.seen.add(event.document_id)
            if kind == "negative":
                history.rejected.add(event.document_id)
            elif kind == "positive" and event.document_id not in history.last:
                history.engaged.append(event.document_id)
                history.last[event.document_id] = event.at
        history.engaged = [d for d in history.engaged if d not in history.rejected]
        return history

    def ages_days(self, document_ids: list[str], now: datetime) -> list[float]:
        return [(now - self.last[d]).total_seconds() / 86_400 for d in document_ids]
