"""A webhook receiver on a real loopback socket (Starlette on uvicorn, in a thread) that verifies each delivery
with `standardwebhooks.Webhook`, answers as scripted (an error status, a slow answer, an answer held until the
test lets it go), and records what arrived and when."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.waiting import PATIENCE, wait_for


@dataclass
class Answer:
    status: int = 204
    delay: float = 0.0  # seconds before answering
    hold: threading.Event | None = None  # answer only once this is set


@dataclass
class Arrival:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def verifies(self, secret: str) -> dict[str, Any]:
        """The payload, if `secret` verifies its signature (else `WebhookVerificationError`)."""
        return dict(Webhook(secret).verify(self.body, self.headers))


@dataclass
class Receiver:
    default: Answer = field(default_factory=Answer)
    script: deque[Answer] = field(default_factory=deque)
    arrivals: list[Arrival] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/hook"
        config = uvicorn.Config(self.app, lifespan="off", log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def then(self, *answers: Answer) -> Receiver:
        self.script.extend(answers)
        return self

    async def hook(self, request: Request) -> Response:
        self.arrivals.append(Arrival(dict(request.headers), await request.body(), time.time()))
        answer = self.script.popleft() if self.script else self.default
        await asyncio.sleep(answer.delay)
        if answer.hold is not None:
            await asyncio.to_thread(answer.hold.wait, PATIENCE)
        return Response(status_code=answer.status)

    def wait(self, count: int) -> list[Arrival]:
        wait_for(lambda: len(self.arrivals) >= count, f"{count} deliveries at the receiver")
        return self.arrivals

    def __enter__(self) -> Receiver:
        self.thread.start()
        wait_for(lambda: self.server.started, "the receiver to start", poll=0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.socket.close()
