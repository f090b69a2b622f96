"""A loopback HTTP server that answers from a script (status, headers, JSON body, a delay before answering)
and records when each request came: what a client's retries do is seen from the server's side."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: {"status": "ok"})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None  # sent as it is (an event stream), instead of `body` as JSON


def refusal(status: int, code: str, retry_after: str | None = None) -> Reply:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(status, {"error": {"code": code, "message": f"{code} (scripted)", "details": {}}}, headers)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    at: float  # time.monotonic() when it arrived


class ScriptedServer:
    """`with ScriptedServer(reply, ...) as server`: each request takes the next reply (the last one repeats)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = deque(replies)
        self.seen: list[Seen] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _next(self, method: str, path: str) -> Reply:
        self.seen.append(Seen(method, path, time.monotonic()))
        return self.replies.popleft() if len(self.replies) > 1 else self.replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                reply = server._next(self.command, self.path)
                time.sleep(reply.delay)
                data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                kind = "text/event-stream" if reply.raw is not None else "application/json"
                with contextlib.suppress(ConnectionError):  # a client that timed out is gone
                    self.send_response(reply.status)
                    for name, value in {"Content-Type": kind, **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
