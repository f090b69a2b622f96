"""One end user's data (admin): the conversations a publishable key's page held for them and their events,
exported whole or erased. An end user is the opaque id the embedding page sends; Lore knows nothing else of
them. Both first write this process's buffered server events, so the export misses none of them and none is
written after the erasure."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import AnsweringDep, LoreDep
from lore.api.errors import ERROR_RESPONSES
from lore.models import utcnow
from lore.wire.conversations import EndUserErased, EndUserExport

router = APIRouter(prefix="/v1/end-users", tags=["end users"], responses=ERROR_RESPONSES)

EndUserId = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/{end_user}/export")
def export_end_user(
    end_user: EndUserId, lore: LoreDep, answering: AnsweringDep, principal: PrincipalDep, audit: AuditDep
) -> EndUserExport:
    """Every conversation of the end user in this tenant, with all its messages, and every event of theirs
    (none: empty lists)."""
    lore.events.flush()
    data = answering.records.end_user_data(principal.tenant_id, end_user)
    counts = {
        "conversations": len(data.conversations),
        "messages": sum(len(m) for _, m in data.conversations),
        "events": len(data.events),
    }
    audit.record("end_user.exported", target=end_user, summary=counts)
    return EndUserExport.of(data, utcnow())


@router.delete("/{end_user}")
def erase_end_user(
    end_user: EndUserId, lore: LoreDep, answering: AnsweringDep, principal: PrincipalDep, audit: AuditDep
) -> EndUserErased:
    """Delete every conversation of the end user in this tenant, their messages and their events, in one
    transaction."""
    lore.events.flush()
    erased = answering.records.erase_end_user(principal.tenant_id, end_user)
    audit.record("end_user.erased", target=end_user, summary=erased._asdict())
    return EndUserErased(end_user=end_user, **erased._asdict())
