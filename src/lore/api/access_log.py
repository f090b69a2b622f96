"""One readable line per request on the `lore.access` logger, and the logging `lore serve` sets up.

    2026-12-02 09:14:03 INFO  lore.access  127.0.0.1 POST /v1/search 200 12.4 ms

The path is logged without its query string, which can carry codes and tokens (a sign-in callback's); the
client is the address the connection came from. `LORE_ACCESS_LOG=false` leaves the middleware out; errors (a
request that failed with a 500, with its traceback) are logged by `lore.api` either way.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("lore.access")
FORMAT = "%(asctime)s %(levelname)-5s %(name)s  %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


class AccessLog:
    """Pure ASGI, outermost: it sees the status of every answer, the ones other middleware gave included."""

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
            client = scope.get("client") or ("-", 0)
            took = (time.perf_counter() - start) * 1000
            logger.info("%s %s %s %d %.1f ms", client[0], scope["method"], scope["path"], status, took)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record comes, not the stream it was when logging was set up
    (which a test runner, or anything else that swaps stderr, may have closed since)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def log_config() -> dict[str, Any]:
    """uvicorn's `log_config` for `lore serve`: uvicorn's own messages and Lore's loggers (access, errors, jobs)
    as timestamped lines on stderr; uvicorn's access log stays off (this module writes Lore's)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": FORMAT, "datefmt": DATE_FORMAT}},
        "handlers": {"stderr": {"()": StderrHandler, "formatter": "plain"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "lore": {"handlers": ["stderr"], "level": "INFO"},
        },
    }
