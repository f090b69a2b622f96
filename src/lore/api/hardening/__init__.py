"""What a browser or the network may do before authentication matters: the hosts the server answers to, the
origins whose pages may use it, the shape of request bodies, and the security headers of every response.

`security_headers` goes first in the app's middleware (it decorates every answer, errors and 500s included);
`request_guards` go last, inside the body-size limit, so the JSON they read ahead is already bounded in bytes."""

from __future__ import annotations

from starlette.middleware import Middleware

from lore.api.hardening.headers import SecurityHeaders
from lore.api.hardening.hosts import AllowedHosts, HostPolicy
from lore.api.hardening.json_bodies import JsonBodies
from lore.api.hardening.origins import BrowserOrigins, CrossOrigin
from lore.config import Settings

__all__ = ["CrossOrigin", "request_guards", "security_headers"]


def security_headers(settings: Settings) -> Middleware:
    return Middleware(SecurityHeaders, hsts_max_age=settings.http.hsts_max_age)


def request_guards(settings: Settings) -> list[Middleware]:
    """Host first (a rebinding page is turned away whatever it sends), then origin, then the body."""
    http = settings.http
    return [
        Middleware(AllowedHosts, policy=HostPolicy.of(settings)),
        Middleware(BrowserOrigins, origins=http.cors_origins),
        Middleware(JsonBodies, max_depth=http.max_json_depth, max_items=http.max_json_items),
    ]
