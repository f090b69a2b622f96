"""Documents: the list (by collection, newest first, a page at a time), uploads, deletion, and one document's
page with its text, the passage a search hit or an answer's citation points at, a new version of its file,
and who may read it. Each calls the API's own handler (`lore.api.routes.documents`), so a page lists, writes
and refuses exactly as the same principal's API requests would, with the same audit entries and metrics.

Re-ingesting is uploading a new version of the file under the document's source: the store keeps a
document's extracted text, not the file it came from, so nothing can parse it again from what is stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query, Request, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep, MetricsDep
from lore.api.routes import documents as api_documents
from lore.ui.pages.recommendations import related_articles
from lore.ui.pages.search import collection_names
from lore.ui.rendering import is_htmx, render
from lore.ui.routing import page_router
from lore.wire.access import AccessIn

router = page_router()
DocumentId = Annotated[str, Path(min_length=1, max_length=128)]
PAGE_SIZE = 25


def names(field: str) -> list[str]:
    """A form field of names separated by commas or spaces, each once, in order."""
    return list(dict.fromkeys(field.replace(",", " ").split()))


@router.get("/documents")
def documents_page(
    request: Request,
    lore: LoreDep,
    principal: PrincipalDep,
    collection: Annotated[str, Query(max_length=64)] = "",
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
) -> Response:
    """The list and the upload form; an htmx request gets the list (a filter) or its next rows (a cursor)."""
    page = api_documents.list_documents(lore, principal, limit, cursor, collection or None)
    context = {
        "documents": page.items,
        "next_cursor": page.next_cursor,
        "limit": limit,
        "collection": collection,
        "collections": collection_names(lore, principal),
    }
    block = None
    if is_htmx(request):
        block = "rows" if cursor else "list"
    return render(request, "documents.html", context, block=block)


@router.post("/documents")
async def upload_document(
    request: Request, lore: LoreDep, principal: PrincipalDep, metrics: MetricsDep, audit: AuditDep
) -> Response:
    """The file and its fields go to the API's upload handler as they came (multipart): parsed, chunked and
    indexed by the time it answers. The list on the page reloads itself (`documents-changed`)."""
    answer = Response()
    added = await api_documents.add_document(request, answer, lore, principal, metrics, audit)
    return render(
        request,
        "documents.html",
        {"added": added},
        block="upload_result",
        headers={"HX-Trigger": "documents-changed"},
    )


@router.get("/documents/{document_id}")
def document_page(
    request: Request,
    document_id: DocumentId,
    lore: LoreDep,
    principal: PrincipalDep,
    chunk: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """A document the caller may read (else 404, as the API answers), and the passage `chunk` if it is one of
    this document's; who may read it besides its owner and the admins."""
    document = api_documents.get_document(document_id, lore, principal)
    passage = None
    if chunk is not None:
        found = lore.store.documents.get_chunks(principal.tenant_id, [chunk]).get(chunk)
        passage = found if found is not None and found.document_id == document.id else None
    access = api_documents.get_document_access(document_id, lore, principal)
    context = {
        "document": document,
        "passage": passage,
        "access": access,
        "related": related_articles(lore, principal, document.id),
    }
    return render(request, "document.html", context)


@router.delete("/documents/{document_id}")
def delete_document(
    request: Request, document_id: DocumentId, lore: LoreDep, principal: PrincipalDep, audit: AuditDep
) -> Response:
    """Gone from the list, searches and answers at once; the row swaps itself out, a message says so."""
    document = api_documents.get_document(document_id, lore, principal)
    api_documents.delete_document(document_id, lore, principal, audit)
    return render(request, "documents.html", {"deleted": document}, block="deleted")


@router.put("/documents/{document_id}/access")
def set_access(
    request: Request,
    document_id: DocumentId,
    lore: LoreDep,
    principal: PrincipalDep,
    audit: AuditDep,
    restricted: Annotated[bool, Form()] = False,
    groups: Annotated[str, Form(max_length=10_000)] = "",
    users: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """Replace who may read it (the API's `PUT /v1/documents/{id}/access`): searches follow at once."""
    body = AccessIn(restricted=restricted, groups=names(groups), users=names(users))
    access = api_documents.set_document_access(document_id, body, lore, principal, audit)
    document = api_documents.get_document(document_id, lore, principal)
    return render(
        request, "document.html", {"document": document, "access": access, "saved": True}, block="access"
    )
