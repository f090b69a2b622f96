"""Local HTTP servers that speak the OpenAI chat-completions and Anthropic Messages protocols, on real sockets.

Each request takes the next scripted `Reply` (then the default one): streamed text, an echo of the prompt the
server received, an error status (with Retry-After, and an error body that quotes the caller's key as real
servers partly do), a slow start, a stall or a dropped connection mid-stream, a stream that goes on until the test
ends it, or a start held until several requests are in flight. Requests are recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.waiting import PATIENCE, wait_for

# Seconds of a delay or stall that outlasts every timeout the tests give a provider: were it waited out, the
# answer would arrive and the test fail.
HANG = 120.0

Events = Callable[[str, dict[str, Any]], Iterator[str]]


@dataclass
class Reply:
    text: str = "Refunds are processed within five business days [1]."
    echo: bool = False  # answer with the prompt the server received
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the response starts
    stall_after: int | None = None  # pieces sent before the stream stalls for `stall_seconds`
    stall_seconds: float = 0.0
    cut_after: int | None = None  # pieces sent before the connection drops
    piece_seconds: float = 0.0  # between pieces, as a model writes them
    until: threading.Event | None = None  # the text repeats, piece after piece, until this is set
    together: threading.Barrier | None = None  # the response starts once all its parties' requests are in
    usage: tuple[int, int] = (42, 7)


class ConnectionDropped(Exception):
    """Raised inside a streaming response: the server closes the connection mid-body."""


@dataclass
class Script:
    default: Reply = field(default_factory=Reply)
    queue: deque[Reply] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    abandoned: int = 0  # streams that ended before their last line

    def then(self, *replies: Reply) -> Script:
        self.queue.extend(replies)
        return self

    def next(self) -> Reply:
        return self.queue.popleft() if self.queue else self.default


def prompt_text(body: dict[str, Any]) -> str:
    """Everything the model would read: the system text and every message, in order."""
    system = body.get("system") or ""
    return "\n\n".join([system, *(f"[{m['role']}] {m['content']}" for m in body["messages"])]).strip()


def pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [word if i == 0 else f" {word}" for i, word in enumerate(words)]


def repeated(parts: list[str], until: threading.Event) -> Iterator[str]:
    """The parts over and over, spaced as words, until the event is set."""
    for i, part in enumerate(itertools.cycle(parts)):
        if until.is_set():
            return
        yield part if i == 0 else f" {part.lstrip()}"


def openai_events(model: str, parts: Iterable[str], usage: tuple[int, int]) -> Iterator[str]:
    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": model}
        return f"data: {json.dumps({**body, 'choices': choices, **extra})}\n\n"

    for part in parts:
        yield chunk([{"index": 0, "delta": {"content": part}, "finish_reason": None}])
    yield chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    prompt, completion = usage
    yield chunk(
        [],
        usage={"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    )
    yield "data: [DONE]\n\n"


def anthropic_events(model: str, parts: Iterable[str], usage: tuple[int, int]) -> Iterator[str]:
    def event(kind: str, **data: Any) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    message = {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": model}
    message |= {
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": 1},
    }
    yield event("message_start", message=message)
    yield event("content_block_start", index=0, content_block={"type": "text", "text": ""})
    for part in parts:
        yield event("content_block_delta", index=0, delta={"type": "text_delta", "text": part})
    yield event("content_block_stop", index=0)
    yield event(
        "message_delta",
        delta={"stop_reason": "end_turn", "stop_sequence": None},
        usage={"output_tokens": usage[1]},
    )
    yield event("message_stop")


def error_body(protocol: str, status: int, key: str) -> dict[str, Any]:
    message = (
        f"request failed for key {key}"  # servers quote (part of) the key: it must not reach Lore's errors
    )
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": "api_error", "message": message}}
    return {"error": {"message": message, "type": "server_error", "code": status}}


class ProtocolApp:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.openai, methods=["POST"]),
                Route("/v1/messages", self.anthropic, methods=["POST"]),
            ]
        )

    async def openai(self, request: Request) -> Response:
        return await self.answer(request, "openai", openai_events)

    async def anthropic(self, request: Request) -> Response:
        return await self.answer(request, "anthropic", anthropic_events)

    async def answer(self, request: Request, protocol: str, events: Callable[..., Iterator[str]]) -> Response:
        body = await request.json()
        self.script.requests.append({"protocol": protocol, "headers": dict(request.headers), "body": body})
        reply = self.script.next()
        await asyncio.sleep(reply.delay)
        if reply.together is not None:
            await asyncio.to_thread(reply.together.wait, PATIENCE)  # BrokenBarrierError: a 500, as it should
        key = request.headers.get("authorization", "") + request.headers.get("x-api-key", "")
        if reply.status != 200:
            return JSONResponse(error_body(protocol, reply.status, key), reply.status, headers=reply.headers)
        text = prompt_text(body) if reply.echo else reply.text
        parts = pieces(text) if reply.until is None else repeated(pieces(text), reply.until)
        lines = events(body["model"], parts, reply.usage)
        return StreamingResponse(self.send(lines, reply), media_type="text/event-stream")

    async def send(self, lines: Iterator[str], reply: Reply) -> AsyncIterator[str]:
        finished = False
        try:
            for i, line in enumerate(lines):
                if i == reply.cut_after:
                    raise ConnectionDropped("dropping the connection mid-stream")
                if i == reply.stall_after:
                    await asyncio.sleep(reply.stall_seconds)
                if i and reply.piece_seconds:
                    await asyncio.sleep(reply.piece_seconds)
                yield line
            finished = True
        finally:
            if not finished:
                self.script.abandoned += 1  # the client went away (or the script dropped it) mid-stream


class LiveServer:
    """A uvicorn server on an ephemeral port, in a thread, for the length of a `with` block."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(
            ProtocolApp(script).app, log_level="critical", lifespan="off", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for(
            lambda: self.server.started or not self.thread.is_alive(), "the model server to start", poll=0.01
        )
        assert self.server.started, "the model server stopped before it started"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()
