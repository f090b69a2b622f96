"""Wire models of events, feedback and search analytics (docs/events.md): what the API accepts and returns,
and what `lore events export --json` and `lore analytics search --json` print."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lore.backends.store.search_analytics import QueryStats, RankStats, SearchAnalytics
from lore.intelligence import events
from lore.intelligence.events import ClientEvent
from lore.models import Event
from lore.wire.schemas import Input

MAX_BATCH = 500

Id = Annotated[str, StringConstraints(min_length=1, max_length=events.MAX_ID_CHARS)]
Text = Annotated[str, StringConstraints(max_length=events.MAX_TEXT_CHARS)]
RowId = Annotated[int, Field(ge=1, le=events.MAX_ROW_ID)]


class EventIn(Input):
    """One event a client reports; which fields each kind needs is in docs/events.md."""

    event_id: Id = Field(
        description="The client's unique id of the event (a UUID): the same id is stored once, so a batch "
        "may be sent again safely. Required."
    )
    kind: Annotated[str, StringConstraints(max_length=32)] = Field(
        description="view, click, helpful, not_helpful, rating or resolved."
    )
    at: datetime | None = Field(
        None, description="When it happened (no offset: UTC); default: when it was received."
    )
    user_id: Id | None = Field(
        None,
        description="Whom it is about; ignored for publishable keys (their end user is) and signed-in users "
        "(themselves).",
    )
    document_id: Id | None = None
    chunk_id: RowId | None = None
    collection: Id | None = None
    search_id: Id | None = Field(
        None, description="The `search_id` of the search a click or feedback follows."
    )
    conversation_id: Id | None = None
    message_id: RowId | None = Field(None, description="The answer a feedback is on (with conversation_id).")
    query: Text | None = None
    rank: Annotated[int, Field(ge=1, le=events.MAX_RANK)] | None = Field(
        None, description="1-based rank of the clicked hit."
    )
    value: Annotated[float, Field(allow_inf_nan=False)] | None = Field(None, description="A rating: 1 to 5.")
    reason: Text | None = None
    data: Annotated[dict[Annotated[str, StringConstraints(max_length=64)], Any], Field(max_length=32)] = (
        Field(default_factory=dict, description="Details of the kind (a resolved ticket's `ticket_id`).")
    )

    def to_domain(self) -> ClientEvent:
        return ClientEvent(**self.model_dump())


class EventsIn(Input):
    events: Annotated[list[EventIn], Field(min_length=1, max_length=MAX_BATCH)]


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Events stored now.")
    duplicates: int = Field(description="Events whose event_id was stored before: not stored again.")


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: str
    kind: str
    at: datetime
    received_at: datetime
    actor: str = Field(description='Who sent it: "user:<id>", "key:<id>" or "operator".')
    user_id: str | None
    document_id: str | None
    chunk_id: int | None
    collection: str | None
    search_id: str | None
    conversation_id: str | None
    message_id: int | None
    query: str | None
    rank: int | None
    value: float | None
    reason: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls.model_validate(event)


class EventPage(BaseModel):
    items: list[EventOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class FeedbackIn(Input):
    helpful: bool
    reason: Text | None = None
    event_id: Id | None = Field(
        None, description="Idempotency key: the same id is stored once. Default: a new one."
    )


class FeedbackOut(BaseModel):
    event_id: str
    kind: str = Field(description="helpful or not_helpful.")
    duplicate: bool = Field(description="True when this event_id was stored before.")


# -- search analytics ----------------------------------------------------------------------------------------


class QueryStatsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    query: str = Field(description="Lower-cased, whitespace collapsed.")
    searches: int
    clicked: int = Field(description="Searches of it followed by at least one click.")
    zero_results: int = Field(description="Searches of it that found nothing.")


class RankOut(BaseModel):
    rank: int
    impressions: int = Field(description="Searches that showed a hit at this rank.")
    clicks: int = Field(description="Of those, searches whose hit at this rank was clicked.")
    ctr: float

    @classmethod
    def of(cls, stats: RankStats) -> RankOut:
        return cls(rank=stats.rank, impressions=stats.impressions, clicks=stats.clicks, ctr=stats.ctr)


class SearchAnalyticsOut(BaseModel):
    since: datetime | None
    until: datetime | None
    searches: int
    clicked: int = Field(description="Searches followed by at least one click.")
    top_queries: list[QueryStatsOut]
    no_click_queries: list[QueryStatsOut] = Field(
        description="Searched at least `min_searches` times, never clicked."
    )
    zero_result_queries: list[QueryStatsOut]
    ctr_by_rank: list[RankOut] = Field(description="Ranks 1 to 10.")

    @classmethod
    def of(
        cls, analytics: SearchAnalytics, since: datetime | None, until: datetime | None
    ) -> SearchAnalyticsOut:
        def queries(found: list[QueryStats]) -> list[QueryStatsOut]:
            return [QueryStatsOut.model_validate(stats) for stats in found]

        return cls(
            since=since,
            until=until,
            searches=analytics.searches,
            clicked=analytics.clicked,
            top_queries=queries(analytics.top_queries),
            no_click_queries=queries(analytics.no_click_queries),
            zero_result_queries=queries(analytics.zero_result_queries),
            ctr_by_rank=[RankOut.of(stats) for stats in analytics.ctr_by_rank],
        )
