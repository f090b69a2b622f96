"""Security headers on every response, errors included: no MIME sniffing, no framing, no referrer, a content
security policy (the strictest for data; for HTML pages, their own scripts and styles only), `no-store` for what
carries data or credentials, and HSTS over HTTPS. Only the help widget's files may be loaded by other origins."""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lore.api.hardening.request_headers import request_headers

# Data never runs or renders: nothing may load, and no page may frame it.
API_POLICY = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The API docs (/docs, /redoc): their vendored scripts and styles, their inline scripts by hash, the spec fetched
# from here, and the data: images and blob: workers of Swagger UI and ReDoc. The bundles set inline styles.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
CORP = b"cross-origin-resource-policy"
FIXED = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    CORP: b"same-origin",
}
CSP = b"content-security-policy"
# The help widget's files are made to be loaded by pages of other origins (docs/widget.md).
EMBEDDABLE = frozenset({"/widget.js", "/widget.css"})
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def script_hashes(page: bytes) -> str:
    """CSP sources for the page's inline scripts: `'sha256-…'` of each script's exact text."""
    digests = (hashlib.sha256(script).digest() for script in _INLINE_SCRIPT.findall(page))
    return "".join(f" 'sha256-{base64.b64encode(digest).decode()}'" for digest in digests)


def private(scope: Scope) -> bool:
    """API data, and anything asked for with credentials: never stored by a browser or a proxy."""
    if scope["path"].startswith("/static/"):  # the UI's own files: the same for everyone, cached by version
        return False
    headers = request_headers(scope)
    return scope["path"].startswith("/v1/") or "authorization" in headers or "cookie" in headers


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp, *, hsts_max_age: int) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age}".encode() if hsts_max_age else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = dict(FIXED)
        if scope["path"] in EMBEDDABLE:
            extra[CORP] = b"cross-origin"
        if private(scope):
            extra[b"cache-control"] = b"no-store"
        if self.hsts is not None and scope["scheme"] == "https":
            extra[b"strict-transport-security"] = self.hsts
        # An HTML page's messages are held until it is whole: its policy names its inline scripts.
        page: list[Message] = []

        async def secured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                _set(message, extra)
                if _is_html(message):
                    page.append(message)
                    return
                _set(message, {CSP: API_POLICY})
            elif page:
                page.append(message)
                if not message.get("more_body", False):
                    await _send_page(send, page)
                return
            await send(message)

        await self.app(scope, receive, secured_send)


async def _send_page(send: Send, messages: list[Message]) -> None:
    start, *parts = messages
    hashes = script_hashes(b"".join(part.get("body", b"") for part in parts))
    _set(start, {CSP: PAGE_POLICY.format(hashes=hashes).encode()})
    for message in messages:
        await send(message)


def _is_html(start: Message) -> bool:
    return Headers(raw=start["headers"]).get("content-type", "").startswith("text/html")


def _set(start: Message, values: dict[bytes, bytes]) -> None:
    """Each header set once, replacing what the handler set (`no-cache` on a stream becomes `no-store`)."""
    kept = [(name, value) for name, value in start["headers"] if name.lower() not in values]
    start["headers"] = [*kept, *values.items()]
