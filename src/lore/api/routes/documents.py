"""Documents: add (file upload or JSON text), list, get and delete."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from lore.api.deps import LoreDep, MetricsDep, TenantDep
from lore.api.errors import BodyTooLarge, InvalidMultipart, UnsupportedMediaType
from lore.api.schemas import (
    ERROR_RESPONSES,
    MAX_TAGS,
    DocumentDetail,
    DocumentIn,
    DocumentOut,
    DocumentPage,
    UploadFields,
    upload_schema,
)
from lore.errors import PayloadTooLarge
from lore.models import Document
from lore.service import Lore

router = APIRouter(prefix="/v1/documents", tags=["documents"], responses=ERROR_RESPONSES)
M = TypeVar("M", bound=BaseModel)

DocumentId = Annotated[str, Path(min_length=1, max_length=200)]
_MAX_FORM_FIELDS = MAX_TAGS + 10
_MAX_FORM_FIELD_BYTES = 64 * 1024
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
    request: Request, lore: LoreDep, tenant: TenantDep, metrics: MetricsDep
) -> DocumentOut:
    """One endpoint, two bodies: a file (multipart `file` plus optional fields) or a text document (JSON).
    The body is read here, so the content type decides how; the service call runs in the threadpool."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        document, kind = await _add_upload(request, lore, tenant), "upload"
    elif media_type == "application/json" or media_type.endswith("+json"):
        document, kind = await _add_json(request, lore, tenant), "text"
    else:
        raise UnsupportedMediaType(
            f"send application/json or multipart/form-data, not {media_type or 'no content type'!r}",
            details={"content_type": media_type},
        )
    metrics.documents_ingested.labels(kind).inc()
    return DocumentOut.of(document)


async def _add_json(request: Request, lore: Lore, tenant: str) -> Document:
    body = validated(DocumentIn, await request.body())
    return await run_in_threadpool(
        lore.add_text,
        title=body.title,
        text=body.text,
        source=body.source,
        tenant_id=tenant,
        collection=body.collection,
        tags=body.tags,
        metadata=body.metadata,
    )


async def _add_upload(request: Request, lore: Lore, tenant: str) -> Document:
    try:
        form = await request.form(
            max_files=1, max_fields=_MAX_FORM_FIELDS, max_part_size=_MAX_FORM_FIELD_BYTES
        )
    except BodyTooLarge:
        raise
    except HTTPException as exc:  # Starlette reports unparseable multipart this way
        raise InvalidMultipart(f"invalid multipart body: {exc.detail}") from exc
    try:
        file, fields = _upload_parts(form)
        data = await _read_capped(file, lore.settings.max_upload_bytes)
    finally:
        await form.close()
    return await run_in_threadpool(
        lore.add_upload,
        data,
        file.filename or "",
        file.content_type,
        tenant_id=tenant,
        collection=fields.collection,
        tags=fields.tags,
        metadata=fields.metadata,
        source=fields.source,
    )


def _upload_parts(form: FormData) -> tuple[UploadFile, UploadFields]:
    """The `file` part and the validated form fields; `tags` may repeat and may hold commas."""
    raw: dict[str, Any] = {}
    for name, value in form.multi_items():
        if name == "tags" and isinstance(value, str):
            raw.setdefault("tags", []).extend(tag for tag in value.split(",") if tag.strip())
        elif name != "file":
            raw[name] = value
    fields = validated(UploadFields, raw)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        missing = {"type": "missing", "loc": ("body", "file"), "msg": "a file part named 'file' is required"}
        raise RequestValidationError([missing])
    return file, fields


async def _read_capped(file: UploadFile, limit: int) -> bytes:
    """Never hold more than limit + 1 bytes of an upload in memory."""
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(
            f"uploaded file exceeds the limit of {limit} bytes", details={"limit_bytes": limit}
        )
    return data


def validated(model: type[M], data: bytes | dict[str, Any]) -> M:
    """Validate a body read by hand, reporting failures exactly as FastAPI does for declared JSON bodies
    (stdlib JSON first, then the model), so both kinds of route answer a given body the same way."""
    if isinstance(data, bytes):
        data = _json_object(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from exc


def _json_object(body: bytes) -> Any:
    if not body:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad syntax, bad UTF-8, absurd nesting
        invalid = {
            "type": "json_invalid",
            "loc": ("body",),
            "msg": "JSON decode error",
            "ctx": {"error": str(exc)},
        }
        raise RequestValidationError([invalid]) from exc


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
def delete_document(document_id: DocumentId, lore: LoreDep, tenant: TenantDep) -> Response:
    lore.delete_document(document_id, tenant_id=tenant)
    return Response(status_code=204)
