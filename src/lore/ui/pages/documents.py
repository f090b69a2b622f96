"""Documents: one document's page, with the passage a search hit or an answer's citation points at shown first."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response

from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep
from lore.api.routes import documents as api_documents
from lore.ui.pages.recommendations import related_articles
from lore.ui.rendering import render
from lore.ui.routing import page_router

router = page_router()
DocumentId = Annotated[str, Path(min_length=1, max_length=128)]


@router.get("/documents/{document_id}")
def document_page(
    request: Request,
    document_id: DocumentId,
    lore: LoreDep,
    principal: PrincipalDep,
    chunk: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """A document the caller may read (else 404, as the API answers), and the passage `chunk` if it is one of
    this document's."""
    document = api_documents.get_document(document_id, lore, principal)
    passage = None
    if chunk is not None:
        found = lore.store.documents.get_chunks(principal.tenant_id, [chunk]).get(chunk)
        passage = found if found is not None and found.document_id == document.id else None
    context = {
        "document": document,
        "passage": passage,
        "related": related_articles(lore, principal, document.id),
    }
    return render(request, "document.html", context)
