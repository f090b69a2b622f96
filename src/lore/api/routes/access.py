"""Access explanations (admin): whether one of the tenant's users can read a document, and by which rule."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep
from lore.api.errors import ERROR_RESPONSES
from lore.errors import NotFound
from lore.security.access import explain, holder_of, visible
from lore.wire.access import Explained

router = APIRouter(prefix="/v1/access", tags=["access"], responses=ERROR_RESPONSES)


@router.get("/explain")
def explain_access(
    lore: LoreDep,
    principal: PrincipalDep,
    document_id: Annotated[str, Query(min_length=1, max_length=200)],
    as_user: Annotated[str, Query(min_length=1, max_length=200, description="A user id of the tenant.")],
) -> Explained:
    """The first rule that decides: the user's role, an unrestricted document, ownership, a grant to the user
    or to one of their groups; or why not."""
    document = visible(
        principal, lore.get_document(document_id, tenant_id=principal.tenant_id, with_text=False)
    )
    holder = holder_of(lore.store, principal.tenant_id, as_user)
    if holder is None:
        raise NotFound(f"no user {as_user!r}", details={"user_id": as_user})
    access = lore.document_access(document_id, tenant_id=principal.tenant_id)
    return Explained.of(document_id, as_user, document.owner, access, explain(holder, document, access))
