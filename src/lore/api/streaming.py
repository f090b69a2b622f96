"""Server-sent events: the frames, and a response whose first event was produced before it was sent.

A streamed answer's first event is awaited before the response starts, so anything that fails before the
first token (unknown conversation, every provider down) is still an ordinary error response with its status.
Later failures can only travel inside the stream, as an `error` event.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

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


def stream_response(
    first: T,
    events: Iterator[T],
    render: Callable[[T], bytes],
    on_error: Callable[[LoreError], bytes],
    status_code: int = 200,
) -> StreamingResponse:
    """`text/event-stream` of `first` and the rest of `events`; a `LoreError` mid-stream becomes one last
    frame. Proxies are asked not to buffer it."""

    def frames() -> Iterator[bytes]:
        try:
            yield render(first)
            for item in events:
                yield render(item)
        except LoreError as error:
            yield on_error(error)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames(), status_code, headers, "text/event-stream")
