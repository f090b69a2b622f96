"""Documents: add (file upload or JSON text), list, get and delete, and who may read each one.

Every route works for the caller's principal: a new document is owned by it, a stored one is replaced only by
its owner or an admin (403 `source_taken`), and what the caller may not read is, to it, not there (404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from lore.api.audit import AuditDep, document_summary
from lore.api.auth import PrincipalDep
from lore.api.bodies import Upload, is_json, media_type, read_json, read_upload
from lore.api.deps import LoreDep, MetricsDep
from lore.api.errors import ERROR_RESPONSES, UnsupportedMediaType
from lore.models import Document
from lore.security.access import (
    author_of,
    check_collection,
    collections_for,
    readers_of,
    visible,
)
from lore.security.principal import Principal
from lore.service import Lore
from lore.service.ingestion import Added
from lore.wire.access import AccessIn, AccessOut
from lore.wire.schemas import (
    DocumentAdded,
    DocumentDetail,
    DocumentIn,
    DocumentOut,
    DocumentPage,
    upload_schema,
)

router = APIRouter(prefix="/v1/documents", tags=["documents"], responses=ERROR_RESPONSES)

DocumentId = Annotated[str, Path(min_length=1, max_length=200)]
_ADD_BODIES = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {"schema": upload_schema()},
        },
    }
}


@router.post("", status_code=201, openapi_extra=_ADD_BODIES)
async def add_document(
    request: Request,
    response: Response,
    lore: LoreDep,
    principal: PrincipalDep,
    metrics: MetricsDep,
    audit: AuditDep,
) -> DocumentAdded:
    """One endpoint, two bodies: a file (multipart `file` plus optional fields) or a text document (JSON).
    The content type decides how the body is read; the blocking service call runs in the threadpool, and the
    parsing in the parsing sandbox. An upload identical to what its source holds is not written again (200)."""
    media = media_type(request)
    if media == "multipart/form-data":
        upload = await read_upload(request, lore.settings.serving.max_upload_bytes)
        added, kind = await run_in_threadpool(_add_upload, lore, principal, upload), "upload"
    elif is_json(media):
        body = await read_json(request, DocumentIn)
        added, kind = Added(await run_in_threadpool(_add_text, lore, principal, body), False), "text"
    else:
        raise UnsupportedMediaType(
            f"send application/json or multipart/form-data, not {media or 'no content type'!r}",
            details={"content_type": media},
        )
    if added.unchanged:
        response.status_code = 200
        return DocumentAdded.added(added.document, unchanged=True)
    metrics.documents_ingested.labels(kind).inc()
    summary = document_summary(added.document, via=kind)
    await run_in_threadpool(audit.record, "document.added", added.document.id, summary)
    return DocumentAdded.added(added.document, unchanged=False)


def _add_upload(lore: Lore, principal: Principal, upload: Upload) -> Added:
    fields = upload.fields
    return lore.add_upload(
        upload.data,
        upload.filename,
        upload.content_type,
        tenant_id=principal.tenant_id,
        collection=check_collection(principal, fields.collection),
        tags=fields.tags,
        metadata=fields.metadata,
        source=fields.source,
        author=author_of(principal),
        access=fields.access.to_domain() if fields.access else None,
    )


def _add_text(lore: Lore, principal: Principal, body: DocumentIn) -> Document:
    return lore.add_text(
        title=body.title,
        text=body.text,
        source=body.source,
        tenant_id=principal.tenant_id,
        collection=check_collection(principal, body.collection),
        tags=body.tags,
        metadata=body.metadata,
        author=author_of(principal),
        access=body.access.to_domain() if body.access else None,
    )


@router.get("")
def list_documents(
    lore: LoreDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    collection: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> DocumentPage:
    """Newest first, the documents the caller may read; follow `next_cursor` until it is null."""
    page = lore.list_documents(
        tenant_id=principal.tenant_id,
        collections=collections_for(principal, [collection] if collection else None),
        limit=limit,
        cursor=cursor,
        readers=readers_of(principal),
    )
    return DocumentPage(items=[DocumentOut.of(d) for d in page.items], next_cursor=page.next_cursor)


@router.get("/{document_id}")
def get_document(document_id: DocumentId, lore: LoreDep, principal: PrincipalDep) -> DocumentDetail:
    return DocumentDetail.of(_readable(lore, principal, document_id, with_text=True))


@router.delete("/{document_id}", status_code=204)
def delete_document(
    document_id: DocumentId, lore: LoreDep, principal: PrincipalDep, audit: AuditDep
) -> Response:
    """Needs to be able to read it."""
    document = _readable(lore, principal, document_id)
    lore.delete_document(document_id, tenant_id=principal.tenant_id, readers=readers_of(principal))
    audit.record("document.deleted", target=document_id, summary=document_summary(document))
    return Response(status_code=204)


@router.get("/{document_id}/access")
def get_document_access(document_id: DocumentId, lore: LoreDep, principal: PrincipalDep) -> AccessOut:
    """Who may read the document besides its owner and the tenant's admins."""
    _readable(lore, principal, document_id)
    access = lore.document_access(document_id, tenant_id=principal.tenant_id, readers=readers_of(principal))
    return AccessOut.of(document_id, access)


@router.put("/{document_id}/access")
def set_document_access(
    document_id: DocumentId, body: AccessIn, lore: LoreDep, principal: PrincipalDep, audit: AuditDep
) -> AccessOut:
    """Replace who may read the document: searches, answers and listings follow at once. Needs to be able to
    read it; an admin may open or close any document."""
    _readable(lore, principal, document_id)
    readers = readers_of(principal)
    before = AccessOut.of(
        document_id, lore.document_access(document_id, tenant_id=principal.tenant_id, readers=readers)
    )
    access = lore.set_document_access(
        document_id, body.to_domain(), tenant_id=principal.tenant_id, author=author_of(principal)
    )
    after = AccessOut.of(document_id, access)
    summary = {
        "before": before.model_dump(exclude={"document_id"}),
        "after": after.model_dump(exclude={"document_id"}),
    }
    audit.record("document.access_changed", target=document_id, summary=summary)
    return after


def _readable(lore: Lore, principal: Principal, document_id: str, *, with_text: bool = False) -> Document:
    """The document, if the caller may read it (its collection included); else `NotFound`."""
    found = lore.get_document(
        document_id, tenant_id=principal.tenant_id, readers=readers_of(principal), with_text=with_text
    )
    return visible(principal, found)
