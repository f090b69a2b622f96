"""Knowledge gaps: the topics of questions the knowledge base served poorly, for the tenant's admins, and the
promotion of a good answer to a draft article (restricted until an editor opens it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from lore.api.audit import AuditDep, document_summary
from lore.api.auth import PrincipalDep
from lore.api.deps import GapsDep, LoreDep
from lore.api.errors import ERROR_RESPONSES
from lore.intelligence.drafts import promote
from lore.wire.gaps import GapsOut, PromoteIn
from lore.wire.schemas import DocumentOut

router = APIRouter(prefix="/v1/analytics/gaps", tags=["analytics"], responses=ERROR_RESPONSES)


@router.get("")
async def get_gaps(
    gaps: GapsDep,
    principal: PrincipalDep,
    since: Annotated[
        datetime | None,
        Query(description="Start (ISO 8601; UTC if no offset); default: 30 days before until."),
    ] = None,
    until: Annotated[datetime | None, Query(description="End, exclusive; default: now.")] = None,
    min_count: Annotated[int, Query(ge=1, le=10_000, description="Smallest topic shown.")] = 2,
    limit: Annotated[int, Query(ge=1, le=100, description="Most topics shown.")] = 20,
) -> GapsOut:
    """Topics of poorly served questions (abstained or low-confidence answers, weak searches nobody clicked,
    answers and searches marked not helpful), most asked first, each with its trend by week, reasons and the
    nearest existing articles. A window's clustering is reused for a few minutes."""
    report = await run_in_threadpool(
        gaps.report, principal, since=since, until=until, min_count=min_count, limit=limit
    )
    return GapsOut.of(report)


@router.post("/promote", status_code=201)
async def promote_answer(
    body: PromoteIn, lore: LoreDep, principal: PrincipalDep, audit: AuditDep
) -> DocumentOut:
    """Turn an answer the caller may see into a draft article: its question, text and cited sources, in the
    drafts collection, tagged `draft`, restricted to its owner (the caller) and admins. Promoting the same
    answer again replaces its draft."""
    document = await run_in_threadpool(promote, lore, principal, body.to_domain())
    summary = document_summary(document, via="promote", message_id=body.message_id)
    await run_in_threadpool(audit.record, "document.added", document.id, summary)
    return DocumentOut.of(document)
