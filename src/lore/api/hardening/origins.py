"""Browser origins: what a page served from elsewhere may do with this server.

A browser sends some cross-origin requests without asking first (a form post, a multipart upload, `text/plain`,
no body at all), so the origin, not the content type, decides: a state-changing request (anything but GET,
HEAD, OPTIONS) from a foreign origin is refused with 403 `cross_origin` unless the origin is allowed. Reads go
through, but without CORS headers the page cannot see the answer. CORS is off until an origin is allowed.

An origin is allowed when `cors_origins` lists it, or when one of `app.state.origin_checks` says so: async
callables `(origin, bearer_token) -> bool`, through which authentication admits the origins a publishable key
names. They are asked about requests that carry a bearer token, and about preflights, which browsers send
without credentials (`bearer_token` is None: may some key be used from this origin?). Cookies are never credentials across origins here
(`Access-Control-Allow-Credentials` is not sent), so an allowed page gets only what the token it holds grants."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lore.api.errors import lore_error_response
from lore.errors import Forbidden

OriginCheck = Callable[[str, str | None], Awaitable[bool]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept, Last-Event-ID, X-Request-ID",
    "Access-Control-Max-Age": "600",
}
EXPOSE_HEADERS = "Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-ID"


class CrossOrigin(Forbidden):
    code = "cross_origin"


def own_origin(scheme: str, host: str) -> str:
    """The origin a browser writes for a page of this server (`http://127.0.0.1:8000`; no default port)."""
    scheme = "https" if scheme in ("https", "wss") else "http"
    name, colon, port = host.lower().rpartition(":")
    if not (colon and port.isdigit()):
        name, port = host.lower(), ""
    return f"{scheme}://{name}" if port in ("", str(DEFAULT_PORTS[scheme])) else f"{scheme}://{name}:{port}"


def foreign_origin(scope: Scope, headers: Headers) -> str | None:
    """The page's origin when the request comes from another origin than the server's own, else None.
    `Sec-Fetch-Site` is set by browsers, never by pages; its `same-origin` holds behind a TLS proxy too."""
    site = headers.get("sec-fetch-site")
    if site in ("same-origin", "none"):
        return None
    origin = headers.get("origin")
    if origin is None:
        return "null" if site in ("cross-site", "same-site") else None
    origin = origin.lower()
    return None if origin == own_origin(scope["scheme"], headers.get("host", "")) else origin


def bearer_token(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


class BrowserOrigins:
    """Pure ASGI middleware: refuses writes from foreign origins that are not allowed, answers CORS preflights,
    and adds CORS headers to the answers an allowed origin gets."""

    def __init__(self, app: ASGIApp, *, origins: Sequence[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = foreign_origin(scope, headers)
        if origin is None:
            await self.app(scope, receive, send)
            return
        preflight = scope["method"] == "OPTIONS" and "access-control-request-method" in headers
        token = None if preflight else bearer_token(headers)
        allowed = origin in self.origins or (
            (preflight or token is not None) and await _checked(scope, origin, token)
        )
        if preflight:
            await (_preflight(origin) if allowed else _refusal(origin))(scope, receive, send)
        elif allowed:
            await self.app(scope, receive, _with_cors(send, origin))
        elif scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)  # served, but unreadable to the page without CORS headers
        else:
            await _refusal(origin)(scope, receive, send)


async def _checked(scope: Scope, origin: str, token: str | None) -> bool:
    checks: Sequence[OriginCheck] = getattr(scope["app"].state, "origin_checks", ())
    for check in checks:
        if await check(origin, token):
            return True
    return False


def _refusal(origin: str) -> Response:
    return lore_error_response(
        CrossOrigin(
            f"pages from {origin} may not change data here: allow the origin in LORE_CORS_ORIGINS",
            details={"origin": origin},
        )
    )


def _preflight(origin: str) -> Response:
    response = Response(status_code=204, headers=PREFLIGHT_HEADERS)
    _allow(response.headers, origin)
    return response


def _with_cors(send: Send, origin: str) -> Send:
    async def cors_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            _allow(headers, origin)
            headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        await send(message)

    return cors_send


def _allow(headers: MutableHeaders, origin: str) -> None:
    headers["Access-Control-Allow-Origin"] = origin
    headers.add_vary_header("Origin")
