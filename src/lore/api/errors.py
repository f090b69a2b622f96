"""Every error leaves the API as `{"error": {"code", "message", "details"}}`; statuses are chosen here, once.

    LoreError subclass           status   code
    InvalidMultipart              400     invalid_multipart       (body cannot be parsed at all)
    UnsupportedFormat             415     unsupported_format / unsupported_media_type / format_mismatch
    PayloadTooLarge               413     payload_too_large
    DocumentTooLarge              413     document_too_large      (its text or chunks exceed a limit)
    CorruptDocument               422     corrupt_document
    DocumentTooComplex            422     document_too_complex    (its structure exceeds a parsing limit)
    InvalidInput                  422     invalid_input           (well-formed, but the values are unusable)
    Unauthenticated               401     unauthenticated         (with WWW-Authenticate: Bearer)
    Forbidden                     403     forbidden
    RateLimited                   429     rate_limited / quota_exceeded (with Retry-After)
    NotFound                      404     not_found
    Conflict                      409     conflict
    Unavailable                   503     unavailable / overloaded (with Retry-After)
    ProviderFailed                502     provider_error          (an LLM provider refused the request: its 4xx)
    ProviderSetupError            503     provider_not_configured (a setting to set) / provider_unavailable
                                                                  (an optional package to install)
    request validation            422     invalid_request         (400 invalid_json when the body is not JSON)
    routing (HTTPException)       404     not_found, 405 method_not_allowed, ...
    ClientDisconnect              499     (nothing sent: the client went away before its answer)
    anything unexpected           500     internal_error          (logged; no trace in the body)

Rule: 400 when the body cannot be parsed, 422 when it parses but its values are invalid.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lore.answers.errors import ProviderFailed, ProviderSetupError
from lore.errors import (
    Conflict,
    CorruptDocument,
    DocumentTooComplex,
    DocumentTooLarge,
    Forbidden,
    InvalidInput,
    LoreError,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    Unavailable,
    UnsupportedFormat,
)
from lore.wire.schemas import ErrorOut

logger = logging.getLogger("lore.api")
CLIENT_CLOSED_REQUEST = 499


class InvalidMultipart(InvalidInput):
    code = "invalid_multipart"


class UnsupportedMediaType(UnsupportedFormat):
    code = "unsupported_media_type"


class BodyTooLarge(HTTPException):
    """Raised while the body streams in. An HTTPException, because FastAPI re-raises those from body parsing
    where it would turn any other exception into a generic 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {limit} bytes")
        self.limit = limit


STATUS: dict[type[LoreError], int] = {
    InvalidMultipart: 400,
    UnsupportedFormat: 415,
    PayloadTooLarge: 413,
    DocumentTooLarge: 413,
    CorruptDocument: 422,
    DocumentTooComplex: 422,
    InvalidInput: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    RateLimited: 429,
    NotFound: 404,
    Conflict: 409,
    Unavailable: 503,
    ProviderFailed: 502,  # the upstream refused: Lore, its client, is the one at fault, not the caller
    ProviderSetupError: 503,  # this server's setup lacks something only its operator can add
}

# What every route documents in OpenAPI besides its own answers: the one error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "Invalid request"},
    "default": {"model": ErrorOut, "description": "Error"},
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    431: "headers_too_large",
    429: "rate_limited",
}


def status_for(error: LoreError) -> int:
    return next((STATUS[cls] for cls in type(error).__mro__ if cls in STATUS), 500)


ERROR_CODE = "lore.error_code"  # the request state's key of the code a request was answered with
# An error as a page for a person's browser (the web UI's, kept as `app.state.error_page`): same status and code.
ErrorPage = Callable[[Request, LoreError], Response]


class ErrorResponse(Response):
    """JSON that cannot fail to render: details are domain data, and an error must never become a 500."""

    media_type = "application/json"

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        super().__init__(
            json.dumps(body, default=str, ensure_ascii=False),
            status,
            dict(headers) if headers is not None else None,
        )
        self.code = code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})[ERROR_CODE] = self.code  # metrics count refusals by their code
        await super().__call__(scope, receive, send)


def lore_error_response(error: LoreError) -> ErrorResponse:
    return ErrorResponse(status_for(error), error.code, error.message, error.details, _headers_for(error))


def _headers_for(error: LoreError) -> dict[str, str] | None:
    if isinstance(error, Unauthenticated):
        return {"WWW-Authenticate": 'Bearer realm="lore"'}
    return retry_headers(error) or None


def retry_headers(error: LoreError) -> dict[str, str]:
    """`Retry-After` of a refusal that ends by itself (rate limits, shedding), for every kind of response."""
    if isinstance(error, RateLimited | Overloaded):
        return {"Retry-After": str(max(1, math.ceil(error.retry_after)))}
    return {}


async def _lore_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoreError)
    return lore_error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = [_field(error) for error in exc.errors()]
    broken = next((field for field in fields if field["type"] == "json_invalid"), None)
    if broken is not None:  # its location ends at the field; a bare number after it is a decode position
        where = ".".join(part for part in broken["loc"] if isinstance(part, str))
        return ErrorResponse(400, "invalid_json", f"{where} is not valid JSON", {"fields": fields})
    first = fields[0] if fields else {"loc": ["body"], "message": "invalid request"}
    where = ".".join(map(str, first["loc"]))
    more = f" (and {len(fields) - 1} more)" if len(fields) > 1 else ""
    return ErrorResponse(422, "invalid_request", f"{where}: {first['message']}{more}", {"fields": fields})


def _field(error: Any) -> dict[str, Any]:
    """Location, message and type only: the rejected input may be huge or not serialisable."""
    loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", ""))
    reason = (error.get("ctx") or {}).get("error")  # FastAPI's JSON decode errors keep the reason here
    if isinstance(reason, str):
        message = f"{message}: {reason}"
    return {"loc": loc, "message": message, "type": str(error.get("type", ""))}


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        # FastAPI's own body parsing: bad UTF-8 or absurd nesting is not valid JSON either
        return ErrorResponse(400, "invalid_json", "body is not valid JSON", {"reason": str(exc.__cause__)})
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return ErrorResponse(exc.status_code, code, message, headers=exc.headers)


async def _client_gone(_request: Request, exc: Exception) -> Response:
    """The client disconnected before its answer: nobody reads this, but metrics count it apart (499, as
    proxies log it), not as a server error."""
    assert isinstance(exc, ClientDisconnect)
    return Response(status_code=CLIENT_CLOSED_REQUEST)


async def _body_too_large(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLarge)
    return lore_error_response(too_large(exc.limit))


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body exceeds the limit of {limit} bytes", details={"limit_bytes": limit})


EXCEPTION_HANDLERS = {
    LoreError: _lore_error,
    RequestValidationError: _validation_error,
    BodyTooLarge: _body_too_large,
    ClientDisconnect: _client_gone,
    HTTPException: _http_error,
}


class UnexpectedErrors:
    """Pure ASGI: a bug becomes one logged traceback and a 500 in the error shape, never a stack trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            logger.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = ErrorResponse(
                500, "internal_error", "internal error: the server failed to handle this"
            )
            await response(scope, receive, send)
