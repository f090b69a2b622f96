"""Knowledge gaps (admins): the topics of questions the knowledge base served badly, with their reasons, example
questions, trend and nearest articles, beside the search analytics of the same window (top queries, queries
that found nothing or were never clicked, click-through by rank); and the promotion of a good answer to a draft
article. Each part is the API's own handler (`lore.api.routes.gaps`, `lore.api.routes.analytics`), so the page
reports exactly what `GET /v1/analytics/gaps` and `GET /v1/analytics/search` would."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Form, Query, Request, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import GapsDep, LoreDep, TenantDep
from lore.api.routes import analytics as api_analytics
from lore.api.routes import gaps as api_gaps
from lore.errors import InvalidInput
from lore.ui.forms import midnight_utc
from lore.ui.rendering import is_htmx, render
from lore.ui.routing import page_router
from lore.wire.gaps import PromoteIn

router = page_router()
Day = Annotated[str, Query(max_length=32)]


def day_start(field: str, value: str, *, days_after: int = 0) -> datetime | None:
    """Midnight UTC of a date field (`YYYY-MM-DD`), `days_after` days on; None when the field is empty."""
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError as error:
        raise InvalidInput(f"{field}: not a date (YYYY-MM-DD)", details={"parameter": field}) from error
    return midnight_utc(day, days_after=days_after)


@router.get("/gaps")
async def gaps_page(
    request: Request,
    gaps: GapsDep,
    lore: LoreDep,
    principal: PrincipalDep,
    tenant: TenantDep,
    since: Day = "",
    until: Day = "",
    min_count: Annotated[int, Query(ge=1, le=10_000)] = 2,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """The report of the window (the API's default, the last 30 days, when no dates are given); `until` is the
    last day included. An htmx request gets the report only."""
    report = await api_gaps.get_gaps(
        gaps,
        principal,
        since=day_start("since", since),
        until=day_start("until", until, days_after=1),
        min_count=min_count,
        limit=limit,
    )
    searches = api_analytics.search_analytics(lore, tenant, since=report.since, until=report.until)
    context = {
        "report": report,
        "searches": searches,
        "since": since,
        "until": until,
        "min_count": min_count,
        "limit": limit,
    }
    return render(request, "gaps.html", context, block="report" if is_htmx(request) else None)


@router.post("/gaps/promote")
async def promote(
    request: Request,
    lore: LoreDep,
    principal: PrincipalDep,
    audit: AuditDep,
    conversation_id: Annotated[str, Form(max_length=200)],
    message_id: Annotated[str, Form(max_length=32)],
    title: Annotated[str, Form(max_length=1000)] = "",
    collection: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """An answer turned into a restricted draft article (the API's `POST /v1/analytics/gaps/promote`)."""
    body = PromoteIn.model_validate(
        {
            "conversation_id": conversation_id.strip(),
            "message_id": message_id.strip(),
            "title": title.strip() or None,
            "collection": collection.strip() or None,
        }
    )
    document = await api_gaps.promote_answer(body, lore, principal, audit)
    return render(request, "gaps.html", {"draft": document}, block="promoted", status=201)
