"""Every request has an id: the caller's `X-Request-ID` when it is a plain token of at most 128 characters, else
one made here (32 hex digits). It is returned in the `X-Request-ID` header of every response (errors
included), bound as `request_id` in structlog's context variables for every log line of the request (threads
started with `anyio.to_thread.run_sync` copy them), recorded by the audit log, carried into the jobs the
request submits and sent to LLM providers.
"""

from __future__ import annotations

import random
import re
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lore.tracing import tag

if TYPE_CHECKING:
    from opentelemetry.trace import Span

HEADER = "X-Request-ID"
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


def accepted(given: str | None) -> str:
    """The caller's id when it is safe to log and echo, else a new one: 128 bits of `random`, which is seeded
    from the OS and re-seeded in a forked child. An id names a request and guards nothing; `uuid4` made a
    system call for its 16 bytes on every request."""
    return given if given is not None and _PLAIN_ID.fullmatch(given) else f"{random.getrandbits(128):032x}"


def assign(scope: MutableMapping[str, Any]) -> str:
    """The request's id, chosen by whichever sees the request first (the tracing hook, else `RequestIds`) and
    kept in its state."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        given = dict(scope["headers"]).get(HEADER.lower().encode())
        state["request_id"] = accepted(given.decode("latin-1") if given is not None else None)
    return str(state["request_id"])


def tag_server_span(span: Span, scope: dict[str, Any]) -> None:
    """The tracing hook of each request's server span, which starts before `RequestIds` runs."""
    tag(span, assign(scope))


def of_scope(scope: MutableMapping[str, Any]) -> str:
    """The request's id, as `RequestIds` put it in the request's state."""
    return str(scope["state"]["request_id"])


class RequestIds:
    """Pure ASGI, outermost: the id is bound before any other middleware logs, and its header reaches
    every response, the ones other middleware answer included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = assign(scope)

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, with_header)
