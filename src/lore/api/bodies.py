"""Request bodies read by hand, for the endpoint that takes either JSON or a multipart upload. Failures are
reported exactly as FastAPI reports those of declared bodies, so every route answers a given body alike."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from lore.api.errors import BodyTooLarge, InvalidMultipart
from lore.errors import PayloadTooLarge
from lore.wire.schemas import MAX_TAGS, UploadFields

M = TypeVar("M", bound=BaseModel)

_MAX_FORM_FIELDS = MAX_TAGS + 10
_MAX_FORM_FIELD_BYTES = 64 * 1024
_PARSE_ON_LOOP = 16 * 1024  # bodies up to this size parse within about a millisecond: not worth a thread


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes
    filename: str
    content_type: str | None
    fields: UploadFields


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_json(request: Request, model: type[M]) -> M:
    """Stdlib JSON first, then the model: the same steps, and so the same errors, as FastAPI's. A large body
    is parsed on a worker thread: megabytes of small values take a quarter of a second, which the event loop
    (every other request) must not wait for."""
    body = await request.body()
    if not body:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    try:
        data = await run_in_threadpool(json.loads, body) if len(body) > _PARSE_ON_LOOP else json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad syntax, bad UTF-8, absurd nesting
        error = {
            "type": "json_invalid",
            "loc": ("body",),
            "msg": "JSON decode error",
            "ctx": {"error": str(exc)},
        }
        raise RequestValidationError([error]) from exc
    return validated(model, data)


async def read_upload(request: Request, max_bytes: int) -> Upload:
    """The `file` part (at most `max_bytes`, never more than one byte beyond in memory) and the form fields."""
    try:
        form = await request.form(
            max_files=1, max_fields=_MAX_FORM_FIELDS, max_part_size=_MAX_FORM_FIELD_BYTES
        )
    except BodyTooLarge:
        raise
    except HTTPException as exc:  # Starlette reports unparseable multipart this way
        raise InvalidMultipart(f"invalid multipart body: {exc.detail}") from exc
    try:
        fields = validated(UploadFields, _form_fields(form))
        file = _file_part(form)
        data = await file.read(max_bytes + 1)
    finally:
        await form.close()
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"uploaded file exceeds the limit of {max_bytes} bytes", details={"limit_bytes": max_bytes}
        )
    return Upload(data, file.filename or "", file.content_type, fields)


def _form_fields(form: FormData) -> dict[str, Any]:
    """Every part but `file`; `tags` may repeat and may hold commas."""
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if name == "tags" and isinstance(value, str):
            fields.setdefault("tags", []).extend(tag for tag in value.split(",") if tag.strip())
        elif name != "file":
            fields[name] = value
    return fields


def _file_part(form: FormData) -> UploadFile:
    file = form.get("file")
    if not isinstance(file, UploadFile):
        missing = {"type": "missing", "loc": ("body", "file"), "msg": "a file part named 'file' is required"}
        raise RequestValidationError([missing])
    return file


def validated(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from exc
