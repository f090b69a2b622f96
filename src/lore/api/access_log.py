"""One event per request on the `lore.access` logger, with its fields (`lore.logs` renders them):

    {"event": "request", "method": "POST", "route": "/v1/search", "path": "/v1/search", "status": 200,
     "duration_ms": 12.4, "client": "127.0.0.1", "tenant": "default", "principal_kind": "key",
     "principal_id": "k_3f...", "request_id": "5f0c...", ...}

The path is logged without its query string, which can carry a search's text, codes and tokens (a sign-in
callback's); the route is its template (`/v1/documents/{document_id}`). The principal is named by kind and id,
never by its key or token. `LORE_ACCESS_LOG=false` leaves the middleware out; errors (a request that failed with a
500, with its traceback) are logged by `lore.api` either way.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("lore.access")


class AccessLog:
    """Pure ASGI, outside every middleware but the request ids: it sees the status of every answer, the ones
    other middleware gave included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            took = round((time.perf_counter() - start) * 1000, 1)
            logger.info("request", extra={**fields(scope), "status": status, "duration_ms": took})


def fields(scope: Scope) -> dict[str, Any]:
    """What a request's line says of it, beside its outcome."""
    client = scope.get("client") or ("-", 0)
    principal = scope.get("state", {}).get("principal")
    return {
        "method": scope["method"],
        "route": getattr(scope.get("route"), "path", None),
        "path": scope["path"],
        "client": client[0],
        "tenant": getattr(principal, "tenant_id", None),
        "principal_kind": getattr(principal, "kind", None),
        "principal_id": getattr(principal, "id", None),
    }
