"""Documents: add (file upload or JSON text), list, get and delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from lore.api.audit import AuditDep
from lore.api.bodies import Upload, is_json, media_type, read_json, read_upload
from lore.api.deps import LoreDep, MetricsDep, TenantDep
from lore.api.errors import ERROR_RESPONSES, UnsupportedMediaType
from lore.models import Document
from lore.service import Lore
from lore.wire.schemas import (
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
    request: Request, lore: LoreDep, tenant: TenantDep, metrics: MetricsDep, audit: AuditDep
) -> DocumentOut:
    """One endpoint, two bodies: a file (multipart `file` plus optional fields) or a text document (JSON).
    The content type decides how the body is read; the blocking service call runs in the threadpool."""
    media = media_type(request)
    if media == "multipart/form-data":
        upload = await read_upload(request, lore.settings.serving.max_upload_bytes)
        document, kind = await run_in_threadpool(_add_upload, lore, tenant, upload), "upload"
    elif is_json(media):
        body = await read_json(request, DocumentIn)
        document, kind = await run_in_threadpool(_add_text, lore, tenant, body), "text"
    else:
        raise UnsupportedMediaType(
            f"send application/json or multipart/form-data, not {media or 'no content type'!r}",
            details={"content_type": media},
        )
    metrics.documents_ingested.labels(kind).inc()
    await run_in_threadpool(audit.record, "document.added", document.id, _summary(document, via=kind))
    return DocumentOut.of(document)


def _summary(document: Document, **more: object) -> dict[str, object]:
    """What the audit log says of a document: where it is and came from, never its text."""
    return {
        "collection": document.collection,
        "source": document.source,
        "title": document.title,
        "chunks": document.chunk_count,
        "content_hash": document.content_hash,
        **more,
    }


def _add_upload(lore: Lore, tenant: str, upload: Upload) -> Document:
    fields = upload.fields
    return lore.add_upload(
        upload.data,
        upload.filename,
        upload.content_type,
        tenant_id=tenant,
        collection=fields.collection,
        tags=fields.tags,
        metadata=fields.metadata,
        source=fields.source,
    )


def _add_text(lore: Lore, tenant: str, body: DocumentIn) -> Document:
    return lore.add_text(
        title=body.title,
        text=body.text,
        source=body.source,
        tenant_id=tenant,
        collection=body.collection,
        tags=body.tags,
        metadata=body.metadata,
    )


@router.get("")
def list_documents(
    lore: LoreDep,
    tenant: TenantDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    collection: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> DocumentPage:
    """Newest first; follow `next_cursor` until it is null."""
    page = lore.list_documents(tenant_id=tenant, collection=collection, limit=limit, cursor=cursor)
    return DocumentPage(items=[DocumentOut.of(d) for d in page.items], next_cursor=page.next_cursor)


@router.get("/{document_id}")
def get_document(document_id: DocumentId, lore: LoreDep, tenant: TenantDep) -> DocumentDetail:
    return DocumentDetail.of(lore.get_document(document_id, tenant_id=tenant))


@router.delete("/{document_id}", status_code=204)
def delete_document(document_id: DocumentId, lore: LoreDep, tenant: TenantDep, audit: AuditDep) -> Response:
    document = lore.get_document(document_id, tenant_id=tenant, with_text=False)
    lore.delete_document(document_id, tenant_id=tenant)
    audit.record("document.deleted", target=document_id, summary=_summary(document))
    return Response(status_code=204)
