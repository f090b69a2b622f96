"""The questions a tenant's knowledge base served poorly, read from its events (fields as docs/events.md
defines them):

- an `answer` that abstained (`data.abstained`), or whose retrieval confidence (`value`) is under the floor;
- a `search` with no hits, or a vector search whose top score (`value`, a cosine) is under the floor, that no
  `click` followed (hybrid and keyword scores are relative to the other hits, so only hits or their absence
  tell there);
- an answer or a search with `not_helpful` feedback, joined to it by `message_id` or `search_id` (a search's,
  or the one an answer's retrieval carries: a chat completion's answer has no message).

`helpful` feedback on an answer or a search outweighs its low score. The newest events are read first and the
reading stops at `limit` questions (or after `SCAN_FACTOR` times as many events), so a report's work is
bounded whatever the traffic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from lore.backends.store.event_records import Event, EventFilters
from lore.models import Page

Reason = Literal["abstained", "low_confidence", "not_helpful", "no_click"]
REASONS: tuple[Reason, ...] = ("abstained", "low_confidence", "not_helpful", "no_click")
PAGE = 500
SCAN_FACTOR = 20  # events read per question wanted, at most: a well-served tenant is not read to its start


class EventSource(Protocol):
    """The store's side: a tenant's events newest first, and all of them in the order stored."""

    def page(
        self, tenant_id: str, limit: int, cursor: str | None = None, filters: EventFilters = ...
    ) -> Page[Event]: ...

    def stream(self, tenant_id: str, filters: EventFilters = ...) -> Iterator[Event]: ...


@dataclass(frozen=True, slots=True)
class Asked:
    """One poorly served question: its text, when and by whom (the end user, else the caller) it was asked,
    and why it counts."""

    text: str
    at: datetime
    asker: str
    reasons: frozenset[Reason]


@dataclass(frozen=True, slots=True)
class Window:
    """`since <= at < until`."""

    since: datetime
    until: datetime


@dataclass(slots=True)
class _Feedback:
    helpful: set[str] = field(default_factory=set)
    not_helpful: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Candidate:
    asked: Asked
    weak_search: str | None  # the search id of a weak search: it counts unless a click followed


def poorly_served(
    events: EventSource, tenant_id: str, window: Window, min_confidence: float, limit: int
) -> list[Asked]:
    """The newest `limit` (at most) poorly served questions of the window, newest first."""
    feedback = _feedback(events, tenant_id, window)
    candidates = _scan(events, tenant_id, window, min_confidence, feedback, limit)
    clicked = _clicked(events, tenant_id, window, {c.weak_search for c in candidates if c.weak_search})
    found = []
    for candidate in candidates:
        asked = candidate.asked
        if candidate.weak_search is not None and candidate.weak_search not in clicked:
            asked = Asked(asked.text, asked.at, asked.asker, asked.reasons | {"no_click"})
        if asked.reasons:
            found.append(asked)
    return found


def _filters(window: Window, *kinds: str) -> EventFilters:
    return EventFilters(kinds=frozenset(kinds), since=window.since, until=window.until)


def _feedback(events: EventSource, tenant_id: str, window: Window) -> _Feedback:
    """Which answers and searches were found helpful, and which not (feedback on articles is left out)."""
    found = _Feedback()
    for event in events.stream(tenant_id, _filters(window, "helpful", "not_helpful")):
        key = _feedback_key(event)
        if key is not None:
            (found.helpful if event.kind == "helpful" else found.not_helpful).add(key)
    return found


def _feedback_key(event: Event) -> str | None:
    if event.message_id is not None:
        return f"message:{event.message_id}"
    if event.search_id is not None:
        return f"search:{event.search_id}"
    return None


def _asking_keys(event: Event) -> set[str]:
    """What feedback names an answer or a search by: an answer's message, and the search id of a search or of
    an answer's retrieval (a chat completion's answer has only that)."""
    keys = set()
    if event.kind == "answer" and event.message_id is not None:
        keys.add(f"message:{event.message_id}")
    if event.search_id is not None:
        keys.add(f"search:{event.search_id}")
    return keys


def _scan(
    events: EventSource,
    tenant_id: str,
    window: Window,
    min_confidence: float,
    feedback: _Feedback,
    limit: int,
) -> list[_Candidate]:
    """Answers and searches newest first, until `limit` candidates or `SCAN_FACTOR * limit` events."""
    candidates: list[_Candidate] = []
    cursor, read = None, 0
    filters = _filters(window, "answer", "search")
    while len(candidates) < limit and read < SCAN_FACTOR * limit:
        page = events.page(tenant_id, PAGE, cursor, filters)
        for event in page.items:
            candidate = _candidate(event, min_confidence, feedback)
            if candidate is not None and len(candidates) < limit:
                candidates.append(candidate)
        read += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return candidates


def _candidate(event: Event, min_confidence: float, feedback: _Feedback) -> _Candidate | None:
    text = " ".join((event.query or "").split())
    if not text:
        return None
    keys = _asking_keys(event)
    reasons: set[Reason] = {"not_helpful"} if keys & feedback.not_helpful else set()
    weak_search = None
    if not keys & feedback.helpful:
        if event.kind == "answer":
            reasons |= _answer_reasons(event, min_confidence)
        elif _weak_search(event, min_confidence):
            weak_search = event.search_id or f"event:{event.event_id}"
    if not reasons and weak_search is None:
        return None
    asked = Asked(text, event.at, event.user_id or event.actor, frozenset(reasons))
    return _Candidate(asked, weak_search)


def _answer_reasons(event: Event, min_confidence: float) -> set[Reason]:
    if event.data.get("abstained") is True:
        return {"abstained"}
    if event.value is not None and event.value < min_confidence:
        return {"low_confidence"}
    return set()


def _weak_search(event: Event, min_confidence: float) -> bool:
    """No hits, or a vector search whose best hit is a poor match."""
    if event.value is None or event.data.get("hits") == 0:
        return True
    return event.data.get("mode") == "vector" and event.value < min_confidence


def _clicked(events: EventSource, tenant_id: str, window: Window, searches: set[str]) -> set[str]:
    """Which of `searches` a click followed."""
    if not searches:
        return set()
    found: set[str] = set()
    for event in events.stream(tenant_id, _filters(window, "click")):
        if event.search_id is not None and event.search_id in searches:
            found.add(event.search_id)
    return found
