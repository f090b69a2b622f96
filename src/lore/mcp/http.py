"""The streamable-HTTP side of the MCP server, mounted in the API at `POST /mcp` (`lore.api.routes.mcp`).

The route runs behind the app's own checks like every other: authentication (bearer keys and user tokens),
its `ROUTE_SCOPES` row and the throttle (rate limits, request quotas). The server is stateless and answers in
JSON, so each HTTP request carries one message and is authenticated and throttled on its own, on any replica;
each tool reads the request's principal from the request the SDK hands it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from mcp.server import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.requests import Request

from lore.api.audit import RequestAudit
from lore.api.load import INTERACTIVE, ROUTE_USE
from lore.api.throttle import PRINCIPAL, Throttling, counts_as
from lore.mcp.server import build_server
from lore.mcp.tools import Backing, Call
from lore.security.audit import AuditLog
from lore.security.principal import Principal

E = TypeVar("E")


class ThrottleMeter:
    """A tool call's quotas and usage, in the app's `Throttling`, as the REST route it matches counts them."""

    def __init__(self, throttling: Throttling, request: Request) -> None:
        self.throttling = throttling
        self.request = request

    async def admit(self, principal: Principal, route: str) -> None:
        await self.throttling.admit_use(principal, ROUTE_USE.get(route, INTERACTIVE))

    def succeeded(self, route: str) -> None:
        if route in ROUTE_USE:
            counts_as(self.request, route)

    def answered(self, principal: Principal, events: Iterator[E]) -> Iterator[E]:
        return self.throttling.counted(principal, events)


def session_manager(backing: Backing, throttling: Throttling) -> StreamableHTTPSessionManager:
    """One per app, built and run in its lifespan."""

    def http_call(ctx: ServerRequestContext[Any, Any]) -> Call:
        """The call of the HTTP request carrying the message, made by the principal the app authenticated."""
        request = ctx.request
        principal = getattr(request.state, PRINCIPAL, None) if isinstance(request, Request) else None
        if not isinstance(request, Request) or not isinstance(principal, Principal):
            raise RuntimeError("an MCP message reached the server without an authenticated HTTP request")
        log = AuditLog(backing.lore.store.audit)
        audit = RequestAudit.of(request, log, principal.tenant_id, principal.actor)
        return Call(principal, backing, audit, ThrottleMeter(throttling, request))

    return StreamableHTTPSessionManager(app=build_server(http_call), stateless=True, json_response=True)
