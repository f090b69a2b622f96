"""`POST /mcp`: Lore's MCP server over streamable HTTP (`lore.mcp.http`), for agents and MCP clients.

Its row in `ROUTE_SCOPES` lets any secret key or signed-in user's token in; each tool then asks for the scope of
the REST route it matches. Only a bearer credential is accepted: a browser's session cookie is not, so a page
the user visits cannot drive the tools on their behalf. A refused request keeps the API's status, but its body is
a JSON-RPC error carrying the API's error object, which MCP clients understand."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send

from lore.api.auth import PrincipalDep, bearer_token
from lore.api.deps import McpDep
from lore.api.errors import ERROR_CODE, ERROR_RESPONSES, lore_error_response
from lore.errors import LoreError, Unauthenticated

SERVER_ERROR = -32000  # JSON-RPC's first implementation-defined server error


class _RefusalResponse(Response):
    """A refusal of the request (authentication, rate limits, quotas) with the API's status and headers, as a
    JSON-RPC error whose `data` is the API's error object: an MCP client reports it with Lore's code."""

    media_type = "application/json"

    def __init__(self, error: LoreError) -> None:
        plain = lore_error_response(error)
        data = json.loads(bytes(plain.body))["error"]
        body = {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": SERVER_ERROR, "message": error.message, "data": data},
        }
        kept = {k: v for k, v in plain.headers.items() if k not in ("content-length", "content-type")}
        super().__init__(json.dumps(body, ensure_ascii=False), plain.status_code, kept)
        self.code = error.code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})[ERROR_CODE] = self.code
        await super().__call__(scope, receive, send)


class _JsonRpcRefusals(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def refusing(request: Request) -> Response:
            try:
                return await handler(request)
            except LoreError as error:
                return _RefusalResponse(error)

        return refusing


router = APIRouter(tags=["mcp"], responses=ERROR_RESPONSES, route_class=_JsonRpcRefusals)


class _Handover(Response):
    """Hands the request to the MCP session manager, which writes the response itself."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        super().__init__()
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.manager.handle_request(scope, receive, send)


@router.post("/mcp", include_in_schema=False)
async def mcp(request: Request, _principal: PrincipalDep, manager: McpDep) -> Response:
    """One JSON-RPC message of the MCP protocol (see docs/mcp.md)."""
    if bearer_token(request) is None:
        raise Unauthenticated("MCP clients send 'Authorization: Bearer <API key or access token>'")
    return _Handover(manager)
