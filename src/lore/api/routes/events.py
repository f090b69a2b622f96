"""Events: interactions and feedback clients report (batches, idempotent by event id), feedback on an answer,
and the tenant's events exported (admin). See docs/events.md for each kind's fields."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep
from lore.api.errors import ERROR_RESPONSES
from lore.backends.store.event_records import EventFilters
from lore.intelligence.events import CLIENT_KINDS, SERVER_KINDS, ClientEvent, new_id
from lore.intelligence.intake import EventIntake
from lore.models import as_utc
from lore.service import Lore
from lore.wire.events import (
    EventOut,
    EventPage,
    EventsAccepted,
    EventsIn,
    FeedbackIn,
    FeedbackOut,
)

router = APIRouter(prefix="/v1", tags=["events"], responses=ERROR_RESPONSES)

Kind = Literal[
    "view", "click", "helpful", "not_helpful", "rating", "resolved", "search", "answer", "classified"
]
assert set(get_args(Kind)) == {*CLIENT_KINDS, *SERVER_KINDS}
Id = Annotated[str | None, Query(min_length=1, max_length=128)]
NDJSON = "application/x-ndjson"
EXPORT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`format=json`: a page, newest first; `format=ndjson`: every matching event, oldest "
        "first, one JSON object a line.",
        "content": {NDJSON: {"schema": {"type": "string"}}},
    }
}


def intake(lore: LoreDep) -> EventIntake:
    return EventIntake(lore.store, lore.events.counts, lore.bus)


IntakeDep = Annotated[EventIntake, Depends(intake)]


@router.post("/events")
def post_events(body: EventsIn, events: IntakeDep, principal: PrincipalDep) -> EventsAccepted:
    """Store a batch of events (up to 500), all or none: an invalid event, or one naming a document or answer
    the caller may not see, refuses the batch (its `details.index` says which). Events already stored (by
    `event_id`) count as duplicates; a publishable key's events are its end user's."""
    accepted = events.accept(principal, [event.to_domain() for event in body.events])
    return EventsAccepted(accepted=accepted.accepted, duplicates=accepted.duplicates)


@router.post("/conversations/{conversation_id}/messages/{message_id}/feedback", status_code=201)
def post_feedback(
    conversation_id: Annotated[str, Path(min_length=1, max_length=64)],
    message_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: FeedbackIn,
    events: IntakeDep,
    principal: PrincipalDep,
) -> FeedbackOut:
    """Whether an answer helped: a `helpful` or `not_helpful` event on it, for an answer of a conversation the
    caller sees (another's is not found)."""
    kind = "helpful" if body.helpful else "not_helpful"
    event = ClientEvent(
        body.event_id or new_id(),
        kind,
        conversation_id=conversation_id,
        message_id=message_id,
        reason=body.reason,
    )
    accepted = events.accept(principal, [event])
    return FeedbackOut(event_id=event.event_id, kind=kind, duplicate=accepted.accepted == 0)


def filters(
    kind: Annotated[list[Kind] | None, Query(description="Only these kinds (repeatable).")] = None,
    user_id: Id = None,
    document_id: Id = None,
    since: Annotated[datetime | None, Query(description="Events at or after this time.")] = None,
    until: Annotated[datetime | None, Query(description="Events before this time.")] = None,
) -> EventFilters:
    kinds = frozenset(kind) if kind else None
    return EventFilters(kinds, user_id, document_id, as_utc(since), as_utc(until))


FiltersDep = Annotated[EventFilters, Depends(filters)]


@router.get("/events/export", response_model=EventPage, responses=EXPORT_RESPONSE)
def export_events(
    lore: LoreDep,
    principal: PrincipalDep,
    narrowed: FiltersDep,
    audit: AuditDep,
    format: Literal["json", "ndjson"] = "json",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> Any:
    """The tenant's events: pages newest first (follow `next_cursor`), or every one as NDJSON, oldest first."""
    tenant = principal.tenant_id
    if format == "json":
        page = lore.store.events.page(tenant, limit, cursor, narrowed)
        return EventPage(items=[EventOut.of(event) for event in page.items], next_cursor=page.next_cursor)
    audit.record("events.exported", summary={"format": format, **_shown(narrowed)})
    headers = {
        "Content-Disposition": f'attachment; filename="events-{tenant}.ndjson"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(_lines(lore, tenant, narrowed), media_type=NDJSON, headers=headers)


def _lines(lore: Lore, tenant_id: str, narrowed: EventFilters) -> Iterator[bytes]:
    for event in lore.store.events.stream(tenant_id, narrowed):
        yield (EventOut.of(event).model_dump_json() + "\n").encode()


def _shown(narrowed: EventFilters) -> dict[str, object]:
    """The filters an export used, for its audit record."""
    shown: dict[str, object] = {}
    if narrowed.kinds:
        shown["kinds"] = sorted(narrowed.kinds)
    for name in ("user_id", "document_id", "since", "until"):
        if (value := getattr(narrowed, name)) is not None:
            shown[name] = value.isoformat() if isinstance(value, datetime) else value
    return shown
