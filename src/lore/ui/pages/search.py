"""The search page: a query box with mode and collection selectors, hits with highlighted snippets and their
sources, and helpful / not helpful on each hit. The search itself is the API's handler (`POST /v1/search`), so
the page finds what the same principal would through the API, records the same `search` event and metrics;
feedback goes through the events API's handler (`POST /v1/events`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Form, Query, Request, Response
from markupsafe import Markup, escape

from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep, MetricsDep, SearchLimiterDep
from lore.api.routes import collections as api_collections
from lore.api.routes import events as api_events
from lore.api.routes import search as api_search
from lore.api.throttle import counts_as
from lore.intelligence.events import MAX_RANK, new_id
from lore.security.principal import Principal
from lore.service import Lore
from lore.ui.rendering import is_htmx, render
from lore.ui.routing import page_router
from lore.wire.events import EventIn, EventsIn
from lore.wire.schemas import SearchIn, SearchMode

router = page_router()
MODES: tuple[SearchMode, ...] = ("hybrid", "keyword", "vector")


def highlighted(snippet: str, highlights: list[tuple[int, int]]) -> Markup:
    """The snippet escaped, its matched words in `<mark>`."""
    parts: list[str] = []
    at = 0
    for start, end in sorted(highlights):
        if start < at:
            continue
        parts += [escape(snippet[at:start]), Markup("<mark>"), escape(snippet[start:end]), Markup("</mark>")]
        at = end
    parts.append(escape(snippet[at:]))
    return Markup("").join(parts)


def collection_names(lore: Lore, principal: Principal) -> list[str]:
    """The collections the principal may use, as the API lists them."""
    return [c.name for c in api_collections.list_collections(lore, principal).items]


@router.get("/search")
async def search_page(
    request: Request,
    lore: LoreDep,
    principal: PrincipalDep,
    metrics: MetricsDep,
    limiter: SearchLimiterDep,
    q: Annotated[str, Query(max_length=2000)] = "",
    mode: SearchMode = "hybrid",
    collection: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    """The form, and the hits of `q` when there is one; an htmx request gets the hits only."""
    results = None
    if q.strip():
        body = SearchIn(query=q, mode=mode, collection=collection or None)
        results = await api_search.searched(request, body, lore, principal, metrics, limiter)
        counts_as(request, "POST /v1/search")
    context = {
        "q": q,
        "mode": mode,
        "modes": MODES,
        "collection": collection,
        "collections": collection_names(lore, principal),
        "results": results,
        "highlighted": highlighted,
    }
    return render(request, "search.html", context, block="results" if is_htmx(request) else None)


@router.post("/feedback")
def hit_feedback(
    request: Request,
    events: api_events.IntakeDep,
    principal: PrincipalDep,
    search_id: Annotated[str, Form(min_length=1, max_length=128)],
    document_id: Annotated[str, Form(min_length=1, max_length=128)],
    rank: Annotated[int, Form(ge=1, le=MAX_RANK)],
    kind: Annotated[Literal["helpful", "not_helpful"], Form()],
) -> Response:
    """Whether a hit helped: a `helpful` or `not_helpful` event through the API's events handler, naming the
    search and the hit's document, with its rank in `data` (feedback events carry no rank field)."""
    event = EventIn(
        event_id=new_id(), kind=kind, search_id=search_id, document_id=document_id, data={"rank": rank}
    )
    api_events.post_events(EventsIn(events=[event]), events, principal)
    return render(request, "search.html", {"kind": kind}, block="thanks")
