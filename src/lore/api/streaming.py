"""Answers over HTTP: admitted a few at a time, sent whole or as server-sent events.

A streamed answer's first event is awaited before the response starts, so anything that fails before the
first token (every provider down, a refusal) is still an ordinary error response with its status. Later
failures can only travel inside the stream, as an error frame.

Providers are synchronous (their client libraries and llama.cpp block), so each answer is read on a worker
thread. Those threads come from `AnswerSlots`, not from the pool the other routes share: a burst of slow model
answers queues for a slot instead of starving every other request of threads.

A client that disconnects ends its answer, streamed or whole, at the answer's next piece (closing the request
to the model), and so does the server's shutdown once its grace period is over: the thread reading the answer
checks for cancellation between pieces and is waited for, never left running.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from lore.errors import LoreError

T = TypeVar("T")
R = TypeVar("R")
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # proxies must not buffer the stream


def frame(data: Any, event: str | None = None) -> bytes:
    """One SSE frame; JSON never holds a raw newline, so one `data:` line suffices."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def html_frame(html: str, event: str) -> bytes:
    """One SSE frame of an HTML fragment (the web UI's live rows): a `data:` line per line of it."""
    data = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\n{data}\n".encode()


def event_stream(*events: dict[str, Any]) -> dict[str, Any]:
    """The `text/event-stream` content of an OpenAPI response: the schema of each item, an event, as OpenAPI
    3.2 describes server-sent events (`itemSchema`, as FastAPI writes for its own event streams)."""
    return {"text/event-stream": {"itemSchema": events[0] if len(events) == 1 else {"oneOf": list(events)}}}


def sse_event(name: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """An event named `name` (None: unnamed, a `message` to browsers) whose `data` is described by `data`."""
    properties: dict[str, Any] = {"data": data}
    if name is not None:
        properties["event"] = {"const": name}
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def json_data(schema: dict[str, Any]) -> dict[str, Any]:
    """An event's `data` that is JSON text of `schema`."""
    return {"type": "string", "contentMediaType": "application/json", "contentSchema": schema}


def schema_ref(model: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model}"}


def error_data(error: LoreError) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message, "details": error.details}}


class AnswerSlots:
    """At most `size` answers are written at once in this process, each on its own thread; the rest wait
    their turn, in order."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._admitted = anyio.Semaphore(size)
        self._threads = anyio.CapacityLimiter(size)

    async def acquire(self) -> None:
        await self._admitted.acquire()

    def release(self) -> None:
        self._admitted.release()

    @property
    def answering(self) -> int:
        """Answers holding a slot now."""
        return self.size - self._admitted.value

    @property
    def waiting(self) -> int:
        """Answers waiting for a slot now."""
        return self._admitted.statistics().tasks_waiting

    async def run(self, function: Callable[..., R], *args: Any) -> R:
        return await anyio.to_thread.run_sync(function, *args, limiter=self._threads)


async def whole_answer(slots: AnswerSlots, events: Iterator[object], final: type[R], receive: Receive) -> R:
    """The answer's final event (of type `final`), once the answer is whole, read in a slot. A client that
    disconnects meanwhile ends the answer at its next piece (`ClientDisconnect`)."""
    await slots.acquire()
    try:
        return await until_disconnected(receive, slots.run, _last, events, final)
    finally:
        slots.release()


async def streamed_answer(
    slots: AnswerSlots,
    events: Iterator[T],
    render: Callable[[T], bytes],
    on_error: Callable[[LoreError], bytes],
    receive: Receive,
    status_code: int = 200,
) -> EventStream:
    """An `EventStream` of the answer's events, rendered; it holds a slot until it ends. Its first event is
    read here: an error before it is a plain error response, and a client gone before it ends the answer."""
    await slots.acquire()
    try:
        first = await until_disconnected(receive, slots.run, _first, events)
        return EventStream(_frames(first, events, render, on_error), slots, status_code)
    except BaseException:
        slots.release()
        raise


async def until_disconnected(receive: Receive, run: Callable[..., Awaitable[R]], *args: Any) -> R:
    """`await run(*args)`, cancelled if the client disconnects first (then `ClientDisconnect` is raised).

    The work runs in a child task, so any cancellation (the client gone, or the server's shutdown cancelling
    the request) reaches it as a cancel scope: a thread it waits on sees it (`check_cancelled`) and is waited
    for, instead of being left running."""
    outcome: list[R] = []
    failure: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def work() -> None:
            try:
                outcome.append(await run(*args))
            except Exception as error:  # raised below, not wrapped in the group's ExceptionGroup
                failure.append(error)
            finally:
                group.cancel_scope.cancel()

        group.start_soon(work)
        await _disconnected(receive)
        group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    if not outcome:
        raise ClientDisconnect()
    return outcome[0]


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _first(events: Iterator[T]) -> T:
    """The first event; the answer is closed if its request was cancelled meanwhile."""
    try:
        first = next(events)
        anyio.from_thread.check_cancelled()
        return first
    except BaseException:
        _close(events)
        raise


def _last(events: Iterator[object], final: type[R]) -> R:
    """The last event, read to the end unless the request is cancelled (checked between events)."""
    last: object = None
    try:
        for event in events:
            anyio.from_thread.check_cancelled()
            last = event
    finally:
        _close(events)
    if not isinstance(last, final):
        raise TypeError(f"the answer ended with {type(last).__name__}, not {final.__name__}")
    return last


def _close(events: Iterator[object]) -> None:
    """End the answer, and its request to the model, too."""
    close = getattr(events, "close", None)
    if close is not None:
        close()


def _frames(
    first: T, events: Iterator[T], render: Callable[[T], bytes], on_error: Callable[[LoreError], bytes]
) -> Generator[bytes, None, None]:
    try:
        yield render(first)
        for event in events:
            yield render(event)
    except LoreError as error:
        yield on_error(error)
    finally:  # closed early (the client went away): end the answer, and its request to the model, too
        _close(events)


class EventStream(StreamingResponse):
    """A `text/event-stream` response, read on its answer slot's thread, that stops as soon as the client goes
    away.

    Starlette stops a stream on disconnect only when the server raises on `send` (ASGI 2.4) or, before that,
    by watching `receive`; uvicorn keeps accepting writes to a closed connection, so a plain StreamingResponse
    would read the whole answer from the model into the void (and pay for it). This one always watches
    `receive`, then closes its source: the answer stops at its next piece, and so does its request to the
    model."""

    def __init__(self, frames: Generator[bytes, None, None], slots: AnswerSlots, status_code: int) -> None:
        super().__init__(self._read(frames, slots), status_code, HEADERS, "text/event-stream")
        self.frames = frames
        self.slots = slots

    @staticmethod
    async def _read(frames: Generator[bytes, None, None], slots: AnswerSlots) -> Any:
        while (piece := await slots.run(next, frames, None)) is not None:
            yield piece

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
            with anyio.CancelScope(shield=True):
                await self.slots.run(self.frames.close)
            self.slots.release()
