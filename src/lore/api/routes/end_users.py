"""One end user's data (admin): the conversations a publishable key's page held for them, exported whole or
erased. An end user is the opaque id the embedding page sends; Lore knows nothing else of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import AnsweringDep
from lore.api.errors import ERROR_RESPONSES
from lore.models import utcnow
from lore.wire.conversations import EndUserErased, EndUserExport

router = APIRouter(prefix="/v1/end-users", tags=["end users"], responses=ERROR_RESPONSES)

EndUserId = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/{end_user}/export")
def export_end_user(
    end_user: EndUserId, answering: AnsweringDep, principal: PrincipalDep, audit: AuditDep
) -> EndUserExport:
    """Every conversation of the end user in this tenant, with all its messages (none: an empty list)."""
    data = answering.records.end_user_data(principal.tenant_id, end_user)
    counts = {
        "conversations": len(data.conversations),
        "messages": sum(len(m) for _, m in data.conversations),
    }
    audit.record("end_user.exported", target=end_user, summary=counts)
    return EndUserExport.of(data, utcnow())


@router.delete("/{end_user}")
def erase_end_user(
    end_user: EndUserId, answering: AnsweringDep, principal: PrincipalDep, audit: AuditDep
) -> EndUserErased:
    """Delete every conversation of the end user in this tenant and their messages, in one transaction."""
    conversations, messages = answering.records.erase_end_user(principal.tenant_id, end_user)
    audit.record(
        "end_user.erased", target=end_user, summary={"conversations": conversations, "messages": messages}
    )
    return EndUserErased(end_user=end_user, conversations=conversations, messages=messages)
