"""Request bodies are JSON or multipart uploads, and JSON is bounded in shape before anyone parses it.

The size limit (`BodyLimit`, outside this middleware) bounds the bytes; here the nesting depth and the number of
items are read off the raw bytes, strings skipped, with vectorised byte operations, so a body of a million tiny
arrays or ten thousand nested ones is refused before `json.loads` builds it. The web UI's pages (outside `/v1/`)
also take url-encoded forms. Any other content type with a body (a form sent to the API, `text/plain`, none
declared) is 415 `unsupported_media_type`: no route reads one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lore.api.bodies import is_json
from lore.api.errors import ErrorResponse, UnsupportedMediaType, lore_error_response
from lore.api.hardening.request_headers import request_headers

_STEP = np.zeros(256, np.int8)  # what each byte does to the nesting depth
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_QUOTE, _COMMA = ord('"'), ord(",")
FORM = "application/x-www-form-urlencoded"


class JsonShape(NamedTuple):
    depth: int
    items: int  # array elements and object members; an empty array or object counts as one


def json_shape(body: bytes) -> JsonShape:
    """The shape of a JSON text, strings skipped. Escaped backslashes, then escaped quotes, are dropped first,
    so every quote left opens or closes a string; bytes after an odd number of quotes are inside one."""
    text = np.frombuffer(body.replace(b"\\\\", b"").replace(b'\\"', b""), np.uint8)
    outside = text[~np.logical_xor.accumulate(text == _QUOTE)] if len(text) else text
    steps = _STEP[outside]
    depth = int(np.cumsum(steps, dtype=np.int32).max()) if len(steps) else 0
    return JsonShape(max(depth, 0), int(np.count_nonzero(outside == _COMMA) + np.count_nonzero(steps == 1)))


def surely_within(body: bytes, max_depth: int, max_items: int) -> bool:
    """Counting the raw bytes, strings included, gives upper bounds: most bodies are done with here."""
    opened = body.count(b"[") + body.count(b"{")
    return opened <= max_depth and opened + body.count(b",") <= max_items


def has_body(headers: Mapping[str, str]) -> bool:
    return headers.get("content-length", "0") not in ("0", "") or "transfer-encoding" in headers


class JsonBodies:
    """Pure ASGI middleware: 415 for bodies that are neither JSON nor multipart/form-data; 400
    `json_too_deep` or `json_too_many_items` for JSON beyond `max_depth` or `max_items`."""

    def __init__(self, app: ASGIApp, *, max_depth: int, max_items: int) -> None:
        self.app = app
        self.max_depth = max_depth
        self.max_items = max_items

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope) if scope["type"] == "http" else None
        if headers is None or not has_body(headers):
            await self.app(scope, receive, send)
            return
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media == "multipart/form-data" or (media == FORM and not scope["path"].startswith("/v1/")):
            await self.app(scope, receive, send)
        elif not is_json(media):
            await lore_error_response(_unsupported(media))(scope, receive, send)
        else:
            await self._bounded(scope, receive, send)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _whole_body(receive)
        if body is None:  # the client left before sending it all
            return
        refusal = (
            None if surely_within(body, self.max_depth, self.max_items) else self.refusal(json_shape(body))
        )
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replaying(body, receive), send)

    def refusal(self, shape: JsonShape) -> ErrorResponse | None:
        if shape.depth > self.max_depth:
            message = f"JSON nested deeper than {self.max_depth} arrays or objects is not read"
            return ErrorResponse(400, "json_too_deep", message, {"max_depth": self.max_depth})
        if shape.items > self.max_items:
            message = f"JSON with more than {self.max_items} array elements and object members is not read"
            return ErrorResponse(400, "json_too_many_items", message, {"max_items": self.max_items})
        return None


def _unsupported(media: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"send application/json (or multipart/form-data to upload a file), not {media or 'no content type'!r}",
        details={"content_type": media},
    )


async def _whole_body(receive: Receive) -> bytes | None:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body read here, then the client's own messages (a streamed answer listens for its disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
