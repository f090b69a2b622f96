"""One system call per response: uvicorn writes a response's head and then its body, each straight to the
socket (two `send` calls, two TCP segments). `CorkedTransport` holds what is written during one step of the
event loop and sends it together at the end of that step, so a response made of a head and a body (every JSON
answer) goes out in one write. Whatever the step wrote goes out before a close."""

from __future__ import annotations

import asyncio
from typing import Any


class CorkedTransport:
    """A transport whose writes of one event-loop step are joined; everything else is the real one's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
