"""Answers end when nobody waits for them: a client that disconnects stops its answer, whole or streamed, and
the request to the model with it; a server told to stop (SIGTERM) exits within its grace period even while an
endless answer is being written."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.answers.servers import LiveServer as ProtocolServer
from tests.answers.servers import Reply, Script
from tests.api.conftest import LiveServer
from tests.served import ServedLore, serve_env
from tests.waiting import wait_for

GRACE = 2  # seconds of graceful shutdown the served process is given
EXIT_BOUND = 15.0  # the most a stop may take, grace included


def endless(script: Script) -> threading.Event:
    """The next answer goes on, a piece every 50 ms, until the returned event is set."""
    never = threading.Event()
    script.then(
        Reply(text="Open Billing and then choose Request refund [1].", piece_seconds=0.05, until=never)
    )
    return never


def post_raw(port: int, path: str, body: dict[str, object], authorization: str) -> socket.socket:
    """A POST sent on a raw connection, left open (no response read)."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {authorization}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    sock.sendall(head.encode() + data)
    return sock


@pytest.mark.parametrize("route", ["conversation", "chat"])
def test_a_client_that_disconnects_from_a_whole_answer_stops_it(
    client: httpx.Client, articles: dict[str, str], script: Script, server: LiveServer, route: str
) -> None:
    conversation = client.post("/v1/conversations").json()["id"]
    path, body = {
        "conversation": (f"/v1/conversations/{conversation}/messages", {"content": "How do I get a refund?"}),
        "chat": (
            "/v1/chat/completions",
            {"model": "lore/openai", "messages": [{"role": "user", "content": "Refund?"}]},
        ),
    }[route]
    if route == "conversation":
        body["provider"] = "openai"
    requests, abandoned = len(script.requests), script.abandoned
    slots = server.app.state.answer_slots
    never = endless(script)
    try:
        sock = post_raw(int(server.url.rsplit(":", 1)[1]), path, body, client.headers["authorization"])
        wait_for(lambda: len(script.requests) > requests, "the answer to reach the model")
        sock.close()  # the client leaves before the (endless) answer is whole
        wait_for(lambda: script.abandoned > abandoned, "Lore to close its request to the model")
        wait_for(lambda: slots.answering == 0, "the abandoned answer to give back its slot")
    finally:
        never.set()
    assert client.get(f"/v1/conversations/{conversation}").json()["message_count"] == 0


@pytest.mark.parametrize("stream", [False, True])
def test_sigterm_ends_a_server_writing_an_endless_answer_within_its_grace(
    tmp_path: Path, model_cache: Path, model_server: ProtocolServer, script: Script, stream: bool
) -> None:
    env = serve_env(
        tmp_path / "data",
        model_cache,
        llm_providers="extractive,openai",  # configured, so a request may name it
        openai_base_url=f"{model_server.url}/v1",
        openai_api_key="sk-test-key",
        openai_model="test-model",
        llm_retries="0",
        graceful_shutdown_seconds=str(GRACE),
    )
    with ServedLore(env, tmp_path) as served:
        conversation = httpx.post(f"{served.url}/v1/conversations", headers=served.headers).json()["id"]
        requests, abandoned = len(script.requests), script.abandoned
        never = endless(script)
        question = {"content": "How do I get a refund?", "provider": "openai", "stream": stream}
        try:
            path = f"/v1/conversations/{conversation}/messages"
            sock = post_raw(served.port, path, question, served.headers["Authorization"])
            wait_for(lambda: len(script.requests) > requests, "the answer to reach the model")
            start = time.monotonic()
            served.process.send_signal(signal.SIGTERM)
            served.process.wait(EXIT_BOUND)
            took = time.monotonic() - start
            wait_for(lambda: script.abandoned > abandoned, "the request to the model to be closed")
            sock.close()
        finally:
            never.set()
    assert served.process.returncode == -signal.SIGTERM  # uvicorn re-raises the signal once it has shut down
    assert "Application shutdown complete" in served.log
    assert GRACE <= took < EXIT_BOUND  # the answer had its grace period, then was cancelled
