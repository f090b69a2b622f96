"""Server-sent events: the frames, and a response whose first event was produced before it was sent.

A streamed answer's first event is awaited before the response starts, so anything that fails before the
first token (unknown conversation, every provider down) is still an ordinary error response with its status.
Later failures can only travel inside the stream, as an `error` event.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from lore.errors import LoreError

T = TypeVar("T")
R = TypeVar("R")
END = object()


def frame(data: Any, event: str | None = None) -> bytes:
    """One SSE frame; JSON never holds a raw newline, so one `data:` line suffices."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def error_data(error: LoreError) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message, "details": error.details}}


async def first_event(events: Iterator[T]) -> T | object:
    """The iterator's first item, computed on a worker thread (`END` when there is none)."""
    return await run_in_threadpool(next, events, END)


async def last_event(first: T | object, events: Iterator[T], kind: type[R]) -> R:
    """The stream's final event, of type `kind`: `first` itself, or the last of the rest, drained on a worker
    thread (what a request that did not ask for streaming waits for)."""
    last = (
        first if isinstance(first, kind) else await run_in_threadpool(lambda: deque(events, maxlen=1).pop())
    )
    if not isinstance(last, kind):
        raise TypeError(f"the stream ended with {type(last).__name__}, not {kind.__name__}")
    return last


class EventStream(StreamingResponse):
    """A `text/event-stream` response that stops producing as soon as the client goes away.

    Starlette stops a stream on disconnect only when the server raises on `send` (ASGI 2.4) or, before that,
    by watching `receive`; uvicorn keeps accepting writes to a closed connection, so a plain StreamingResponse
    would read the whole answer from the model into the void (and pay for it). This one always watches
    `receive`, and closes its source afterwards: the answer stops at its next piece, and its request to the
    model is closed."""

    def __init__(
        self, frames: Generator[bytes, None, None], status_code: int, headers: dict[str, str]
    ) -> None:
        super().__init__(frames, status_code, headers, "text/event-stream")
        self.frames = frames

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    await self.stream_response(send)
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                await self.listen_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            # No thread is inside the generator now: the one reading it was waited for when the stream stopped.
            await run_in_threadpool(self.frames.close)


def stream_response(
    first: T,
    events: Iterator[T],
    render: Callable[[T], bytes],
    on_error: Callable[[LoreError], bytes],
    status_code: int = 200,
) -> EventStream:
    """`text/event-stream` of `first` and the rest of `events`; a `LoreError` mid-stream becomes one last
    frame. Proxies are asked not to buffer it."""

    def frames() -> Generator[bytes, None, None]:
        try:
            yield render(first)
            for item in events:
                yield render(item)
        except LoreError as error:
            yield on_error(error)
        finally:  # closed early (the client went away): end the answer, and its request to the model, too
            close = getattr(events, "close", None)
            if close is not None:
                close()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return EventStream(frames(), status_code, headers)
