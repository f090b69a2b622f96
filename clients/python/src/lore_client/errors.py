"""Every failure the client raises is a `LoreError`; an error response of the API becomes the subclass of its
status, carrying the API's stable `code`, its `message`, `details` and the response's `X-Request-ID`.

    LoreError                    .status  .code (examples)
    ├── InvalidRequest           400/422  invalid_request, invalid_json, invalid_input, corrupt_document
    ├── AuthenticationError      401      unauthenticated
    │   └── MfaRequired          -        mfa_required (a login that needs its second step: .mfa_token)
    ├── PermissionDenied         403      forbidden, source_taken
    ├── NotFound                 404      not_found
    ├── Conflict                 409      conflict
    ├── PayloadTooLarge          413      payload_too_large, document_too_large
    ├── UnsupportedMediaType     415      unsupported_format, unsupported_media_type
    ├── RateLimited              429      rate_limited, quota_exceeded (.retry_after, seconds)
    ├── ServerError              5xx      internal_error, provider_error
    │   └── Unavailable          503      unavailable, overloaded, provider_not_configured (.retry_after)
    └── ConnectionFailed         -        connection_error (no response: refused, reset, ...)
        └── Timeout              -        timeout
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class LoreError(Exception):
    """An error of the API (`status` set) or of the way to it (`status` None)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "error",
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{status or '-'} {code}: {message}")
        self.message = message
        self.status = status
        self.code = code
        self.details: dict[str, Any] = dict(details or {})
        self.request_id = request_id


class InvalidRequest(LoreError):
    """400 (the body cannot be parsed) or 422 (it parses, but its values are invalid)."""


class AuthenticationError(LoreError):
    """401: no credentials, or ones that no longer work."""


class MfaRequired(AuthenticationError):
    """A password login that needs a TOTP or recovery code: finish it with `login_mfa(mfa_token, code)`."""

    def __init__(self, mfa_token: str, expires_in: int) -> None:
        super().__init__("this login needs an MFA code", code="mfa_required")
        self.mfa_token = mfa_token
        self.expires_in = expires_in


class PermissionDenied(LoreError):
    """403: the credentials work, but their scopes or role do not allow this."""


class NotFound(LoreError):
    """404: it does not exist, or the caller may not see it."""


class Conflict(LoreError):
    """409: it clashes with what exists (a duplicate name, a state that does not allow it)."""


class PayloadTooLarge(LoreError):
    """413: the body, or the document in it, exceeds a limit."""


class UnsupportedMediaType(LoreError):
    """415: a content type or file format the API does not read."""


class RateLimited(LoreError):
    """429: a rate limit or quota; `retry_after` is the seconds the API asked to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after


class ServerError(LoreError):
    """5xx: the server or an LLM provider behind it failed."""


class Unavailable(ServerError):
    """503: overloaded, starting, or missing a setting; `retry_after` when it ends by itself."""

    def __init__(self, message: str, *, retry_after: float | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after


class ConnectionFailed(LoreError):
    """No response at all: the connection was refused, reset or broken."""


class Timeout(ConnectionFailed):
    """No response within the client's timeout."""


_BY_STATUS: dict[int, type[LoreError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: InvalidRequest,
}


def error_for(status: int, body: object, request_id: str | None, retry_after: float | None) -> LoreError:
    """The exception of an error response: `body` is its parsed JSON (the API's `{"error": {...}}`), or
    anything else when a proxy in between answered."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": f"http_{status}", "message": f"HTTP {status} without an error body"}
    fields: dict[str, Any] = {
        "status": status,
        "code": str(error.get("code", f"http_{status}")),
        "details": error.get("details") if isinstance(error.get("details"), dict) else None,
        "request_id": request_id,
    }
    message = str(error.get("message", ""))
    if status == 429:
        return RateLimited(message, retry_after=retry_after, **fields)
    if status == 503:
        return Unavailable(message, retry_after=retry_after, **fields)
    if status >= 500:
        return ServerError(message, **fields)
    return _BY_STATUS.get(status, LoreError)(message, **fields)
