"""Server-sent event streams as iterators: the response's lines are cut into events (`event:` and `data:`
fields, a blank line ending each), and each event is decoded by its route (`Call.events`); an event decoded to
None is skipped. The request is sent when the stream is first read, and the response closed when it ends, when
the loop breaks out (`with` or `close()`), or on an error."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

import httpx

T = TypeVar("T")


@dataclass(frozen=True)
class ServerSentEvent:
    event: str  # "message" when the frame names none
    data: str


class _Parser:
    """Lines in, events out (the SSE rules Lore's frames need: `event`, multi-line `data`, comments)."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event = ServerSentEvent(self._event or "message", "\n".join(self._data)) if self._data else None
        self._event, self._data = "", []
        return event


def events_of(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    parser = _Parser()
    for line in itertools.chain(lines, [""]):
        if (event := parser.feed(line)) is not None:
            yield event


class Stream(Generic[T]):
    """The decoded events of one streamed response: `for event in stream`, or `with stream: ...`."""

    def __init__(
        self, open_response: Callable[[], httpx.Response], decode: Callable[[ServerSentEvent], T | None]
    ) -> None:
        self._open = open_response
        self._decode = decode
        self._response: httpx.Response | None = None

    def __iter__(self) -> Iterator[T]:
        self._response = self._response or self._open()
        try:
            for event in events_of(self._response.iter_lines()):
                if (decoded := self._decode(event)) is not None:
                    yield decoded
        finally:
            self.close()

    def close(self) -> None:
        if self._response is not None:
            self._response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class AsyncStream(Generic[T]):
    """`Stream` for `AsyncLore`: `async for event in stream`, or `async with stream: ...`."""

    def __init__(
        self,
        open_response: Callable[[], Awaitable[httpx.Response]],
        decode: Callable[[ServerSentEvent], T | None],
    ) -> None:
        self._open = open_response
        self._decode = decode
        self._response: httpx.Response | None = None

    async def __aiter__(self) -> AsyncIterator[T]:
        self._response = self._response or await self._open()
        parser = _Parser()
        try:
            async for line in self._response.aiter_lines():
                event = parser.feed(line)
                if event is not None and (decoded := self._decode(event)) is not None:
                    yield decoded
            last = parser.feed("")
            if last is not None and (decoded := self._decode(last)) is not None:
                yield decoded
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._response is not None:
            await self._response.aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()
