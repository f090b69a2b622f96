"""HTTP framing bounds: how big a request head may be, and how long a client may take to send it and its body.

uvicorn's httptools protocol accepts heads of any size and number of headers, and waits for them and for a body
forever. Two guards close that:

- `GuardedHttpTools`, the protocol `lore serve` runs: a head larger than `max_header_bytes` or with more than
  `max_header_count` headers is answered 431 `headers_too_large`, and a head not complete `header_timeout_seconds`
  after the connection opened (or after the previous response) is answered 408 `request_timeout` (an idle
  connection is simply closed); the connection is closed either way.
- `GuardedHttpTools` also writes each response in one system call (`lore.api.corking`).
- `BodyTimeout`, a pure-ASGI middleware: a body that stops arriving for `body_timeout_seconds` (a body shorter
  than its Content-Length) is answered 408 `request_timeout`, and the connection is closed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import anyio
import httptools
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from lore.api.corking import CorkedTransport
from lore.api.errors import ErrorResponse
from lore.config import ServingSettings


@dataclass(frozen=True, slots=True)
class HeadLimits:
    max_header_bytes: int
    max_header_count: int
    header_timeout_seconds: float

    @classmethod
    def of(cls, serving: ServingSettings) -> HeadLimits:
        return cls(serving.max_header_bytes, serving.max_header_count, serving.header_timeout_seconds)


def http_protocol(serving: ServingSettings) -> type[asyncio.Protocol]:
    """What uvicorn's `http` option takes: `GuardedHttpTools` with these limits (a partial, so it pickles to
    every worker process)."""
    return cast(type[asyncio.Protocol], partial(GuardedHttpTools, limits=HeadLimits.of(serving)))


class HeadRefused(httptools.HttpParserError):
    """Raised from a parser callback to stop parsing: uvicorn then answers through `send_400_response`."""


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounds on the request head: its size, its headers and its time."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HeadLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._in_head = False  # between the first byte of a request and the end of its headers
        self._head_bytes = 0
        self._header_count = 0
        self._body_bytes = 0  # body bytes of the data being parsed now
        self._refusal: tuple[int, str, str, dict[str, Any]] | None = None
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        corked = CorkedTransport(transport, self.loop)  # a response's head and body in one write
        super().connection_made(cast(asyncio.Transport, corked))
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._body_bytes = 0
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data) - self._body_bytes
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse_head(f"the request head exceeds {self.limits.max_header_bytes} bytes")
                self.send_400_response("")

    # -- parser callbacks -------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._header_count = True, 0, 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_header_count:
            self._refuse_head(f"the request has more than {self.limits.max_header_count} headers")
            raise HeadRefused("too many headers")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm_head_timer()  # the next request's head has the same time

    # -- refusing -----------------------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """A refused head is answered with its own status; anything else the parser rejects stays a 400."""
        if self._refusal is None:
            super().send_400_response(msg)
            return
        status, code, message, details = self._refusal
        body = json.dumps({"error": {"code": code, "message": message, "details": details}}).encode()
        head = [
            f"HTTP/1.1 {status} {_PHRASES[status]}",
            "content-type: application/json",
            f"content-length: {len(body)}",
            "connection: close",
        ]
        self.transport.write("\r\n".join(head).encode() + b"\r\n\r\n" + body)
        self.transport.close()

    def _refuse_head(self, message: str) -> None:
        details = {
            "max_header_bytes": self.limits.max_header_bytes,
            "max_header_count": self.limits.max_header_count,
        }
        self._refusal = (431, "headers_too_large", message, details)

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.limits.header_timeout_seconds, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return
        if not self._in_head:  # nothing of a request came: an idle connection, just closed
            self.transport.close()
            return
        seconds = self.limits.header_timeout_seconds
        details = {"header_timeout_seconds": seconds}
        self._refusal = (408, "request_timeout", f"the request head took longer than {seconds:g} s", details)
        self.send_400_response("")


_PHRASES = {408: "Request Timeout", 431: "Request Header Fields Too Large"}


class BodyTimedOut(HTTPException):
    """Raised while a body streams in. An HTTPException, because FastAPI re-raises those from body parsing
    where it would turn any other exception into a generic 400; `Connection: close` ends the connection, whose
    unread rest of the body would otherwise be read as the next request."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            408, f"the request body stopped arriving for {seconds:g} s", headers={"Connection": "close"}
        )


class BodyTimeout:
    """Pure ASGI middleware: each wait for the next piece of a request body lasts at most `seconds`; then
    408 `request_timeout`. Once the body is whole, waits (for a disconnect) are not bounded."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        whole = False
        started = False

        async def timed_receive() -> Message:
            nonlocal whole
            if whole:
                return await receive()
            with anyio.move_on_after(self.seconds):
                message = await receive()
                whole = message["type"] != "http.request" or not message.get("more_body", False)
                return message
            raise BodyTimedOut(self.seconds)

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, watching_send)
        except BodyTimedOut as error:
            if started:
                raise
            response = ErrorResponse(408, "request_timeout", str(error.detail), headers=error.headers)
            await response(scope, receive, send)
