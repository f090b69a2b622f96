"""Browser origins: what a page served from elsewhere may do with this server.

A browser sends some cross-origin requests without asking first (a form post, a multipart upload, `text/plain`,
no body at all), so the origin, not the content type, decides: a state-changing request (anything but GET,
HEAD, OPTIONS) from a foreign origin is refused with 403 `cross_origin` unless the origin is allowed. Reads go
through, but without CORS headers the page cannot see the answer. CORS is off until an origin is allowed.

An origin is allowed when `cors_origins` lists it, or, for one request, when the request carries a publishable
key that may be used from there (the key's `allowed_origins`; one without them may be used from any page: it
was made to be embedded); a publishable key that may not is answered with the key's own error (401, 403).
Browsers ask before sending a bearer token across origins, without the token, so a preflight from an origin
that is not listed is answered when the request will carry one and is one a publishable key may make (an API
route of the search, ask or events scope, with the methods it has): the key then decides. Cookies are never
credentials across origins (`Access-Control-Allow-Credentials` is not sent)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache, partial

import anyio.to_thread
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lore.api.errors import lore_error_response
from lore.api.hardening.request_headers import request_headers
from lore.api.permissions import ROUTE_SCOPES
from lore.errors import Forbidden, LoreError
from lore.security.keys import PREFIXES, KeyRing
from lore.security.scopes import PUBLISHABLE_SCOPES

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept, Last-Event-ID, X-Request-ID, "
    "X-Lore-End-User",
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


def foreign_origin(scope: Scope, headers: Mapping[str, str]) -> str | None:
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


@cache
def _publishable_routes() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    """Each API path a publishable key may call, as a pattern, with its methods."""
    methods: dict[str, list[str]] = {}
    for route, requirement in ROUTE_SCOPES.items():
        method, path = route.split(" ", 1)
        if path.startswith("/v1/") and requirement in PUBLISHABLE_SCOPES:
            methods.setdefault(path, []).append(method)
    return tuple((compile_path(path)[0], tuple(found)) for path, found in methods.items())


def publishable_methods(path: str) -> tuple[str, ...]:
    """The methods a publishable key may use on `path` (none on most)."""
    return next((methods for pattern, methods in _publishable_routes() if pattern.match(path)), ())


def publishable_key(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token.startswith(PREFIXES["publishable"]) else None


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
        headers = request_headers(scope)
        origin = foreign_origin(scope, headers)
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(scope, headers, origin)(scope, receive, send)
        elif origin in self.origins:
            await self.app(scope, receive, _with_cors(send, origin))
        elif (key := _publishable_request(scope, headers)) is not None:
            refusal = await _key_refusal(scope, key, origin)
            if refusal is None:
                await self.app(scope, receive, _with_cors(send, origin))
            else:
                await lore_error_response(refusal)(scope, receive, send)
        elif scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)  # served, but unreadable to the page without CORS headers
        else:
            await _refusal(origin)(scope, receive, send)

    def _preflight(self, scope: Scope, headers: Mapping[str, str], origin: str) -> Response:
        """A listed origin may send anything; another, only what a publishable key may send, with one."""
        if origin in self.origins:
            return _preflight(origin, PREFLIGHT_HEADERS["Access-Control-Allow-Methods"])
        methods = publishable_methods(scope["path"])
        asked = headers["access-control-request-method"].strip().upper()
        if asked not in methods or "authorization" not in _requested_headers(headers):
            return _refusal(origin)
        return _preflight(origin, ", ".join(methods))


def _publishable_request(scope: Scope, headers: Mapping[str, str]) -> str | None:
    """The request's publishable key, when it is a request a publishable key may make; else None."""
    key = publishable_key(headers)
    return key if key is not None and scope["method"] in publishable_methods(scope["path"]) else None


def _requested_headers(headers: Mapping[str, str]) -> set[str]:
    return {name.strip().lower() for name in headers.get("access-control-request-headers", "").split(",")}


async def _key_refusal(scope: Scope, key: str, origin: str) -> LoreError | None:
    """Why the publishable key may not be used from `origin` (not valid, or not from there), or None. The
    route looks the key up again: a refused request must not reach any route, public ones included."""
    keys: KeyRing = scope["app"].state.keys
    try:
        await anyio.to_thread.run_sync(partial(keys.authenticate, key, origin=origin))
    except LoreError as error:
        return error
    return None


def _refusal(origin: str) -> Response:
    return lore_error_response(
        CrossOrigin(
            f"pages from {origin} may not change data here: allow the origin in LORE_CORS_ORIGINS",
            details={"origin": origin},
        )
    )


def _preflight(origin: str, methods: str) -> Response:
    response = Response(
        status_code=204, headers={**PREFLIGHT_HEADERS, "Access-Control-Allow-Methods": methods}
    )
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
