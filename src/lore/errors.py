"""Lore's domain errors, raised below the API and translated once at the edge.

    LoreError                       base: every error Lore raises on purpose
    ├── InvalidInput                the caller sent something unusable (bad field, bad query, bad cursor)
    │   ├── UnsupportedFormat       a file type Lore cannot parse
    │   ├── CorruptDocument         a file of a known type that could not be read
    │   ├── DocumentTooComplex      a document whose structure exceeds a parsing limit (nesting, expansion)
    │   └── PayloadTooLarge         a body, upload or document over its size limit
    │       └── DocumentTooLarge    a document that would exceed a limit once parsed (text, chunks)
    ├── Unauthenticated             no identity proved, or a key, token or password that does not hold
    ├── Forbidden                   the identity may not do this
    │   └── CsrfFailed              a cookie-authenticated change without the session's CSRF token
    ├── RateLimited                 too many requests for a key, user, tenant or the server right now
    │   ├── QuotaExceeded           a tenant's quota (documents, bytes, tokens, requests per day) is used up
    │   └── AccountLocked           too many failed logins in a row: the account waits `retry_after`
    ├── NotFound                    the named record does not exist for this tenant
    ├── Conflict                    the request clashes with the current state
    └── Unavailable                 a dependency (store, index, model) is not ready
        └── Overloaded              the server sheds this kind of request (bulk work) until its load falls

Each class carries a stable snake_case `code` that API clients can rely on; the HTTP status is chosen by the
API's error table, never here.
"""

from __future__ import annotations

from typing import Any


class LoreError(Exception):
    code = "lore_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(LoreError):
    code = "invalid_input"


class UnsupportedFormat(InvalidInput):
    code = "unsupported_format"


class CorruptDocument(InvalidInput):
    code = "corrupt_document"


class DocumentTooComplex(InvalidInput):
    code = "document_too_complex"


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"


class DocumentTooLarge(PayloadTooLarge):
    code = "document_too_large"


class Unauthenticated(LoreError):
    code = "unauthenticated"


class Forbidden(LoreError):
    code = "forbidden"


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class RateLimited(LoreError):
    """`retry_after`: seconds until a retry can succeed, sent as the `Retry-After` header."""

    code = "rate_limited"

    def __init__(
        self, message: str, *, retry_after: float = 1.0, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class QuotaExceeded(RateLimited):
    code = "quota_exceeded"


class AccountLocked(RateLimited):
    code = "account_locked"


class NotFound(LoreError):
    code = "not_found"


class Conflict(LoreError):
    code = "conflict"


class Unavailable(LoreError):
    code = "unavailable"


class Overloaded(Unavailable):
    """`retry_after`: seconds until the load may have fallen, sent as the `Retry-After` header."""

    code = "overloaded"

    def __init__(
        self, message: str, *, retry_after: float = 1.0, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after
