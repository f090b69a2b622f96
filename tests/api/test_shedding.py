"""Load shedding over HTTP: while a server process is overloaded, bulk requests get 503 `overloaded` with
Retry-After and interactive ones are still served."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.api import create_app
from lore.config import Settings
from tests.api.conftest import LiveServer, assert_error
from tests.keys import bearer, mint_key
from tests.waiting import wait_for


def serve(tmp_path: Path, model_cache: Path, **values: Any) -> LiveServer:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        **values,
    )
    return LiveServer(create_app(settings))


@pytest.fixture
def busy_server(tmp_path: Path, model_cache: Path) -> Iterator[LiveServer]:
    """Overloaded as soon as one request is in flight."""
    with serve(tmp_path, model_cache, shed_inflight=1, shed_retry_after=7) as live:
        live.lore.add_text(title="Refunds", text="Refunds reach your card within five business days.")
        yield live


def shedder_of(server: LiveServer) -> Any:
    return server.app.state.throttling.shedder


class HeldRequest:
    """A search whose body is sent only in part: the server holds it in flight until `finish`."""

    def __init__(self, server: LiveServer, token: str) -> None:
        host, port = server.url.removeprefix("http://").split(":")
        self.socket = socket.create_connection((host, int(port)))
        self.body = b'{"query": "refunds", "k": 3}'
        head = f"POST /v1/search HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        head += f"Authorization: Bearer {token}\r\n"
        head += f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
        self.socket.sendall(head.encode() + self.body[:5])

    def finish(self) -> bytes:
        self.socket.sendall(self.body[5:])
        received = b""
        while chunk := self.socket.recv(65536):
            received += chunk
        self.socket.close()
        return received


def test_bulk_is_shed_while_interactive_requests_are_served(busy_server: LiveServer) -> None:
    token = mint_key(busy_server.lore.store)
    with httpx.Client(base_url=busy_server.url, timeout=60, headers=bearer(token)) as client:
        assert (
            client.post("/v1/documents", json={"title": "Idle", "text": "Accepted when idle."}).status_code
            == 201
        )
        held = HeldRequest(busy_server, token)
        wait_for(lambda: shedder_of(busy_server).inflight == 1, "the held search to be in flight")

        shed = client.post("/v1/documents", json={"title": "Busy", "text": "Refused while busy."})
        error = assert_error(shed, 503, "overloaded")
        assert shed.headers["retry-after"] == "7"
        assert error["details"] == {"measure": "requests_in_flight", "value": 1, "threshold": 1}
        for path, body in (
            ("/v1/ingest", {"documents": [{"title": "T", "text": "x"}]}),
            ("/v1/admin/backups", None),
        ):
            assert_error(client.post(path, json=body), 503, "overloaded")
        upload = client.post("/v1/documents", files={"file": ("a.txt", b"text", "text/plain")})
        assert_error(upload, 503, "overloaded")

        searched = client.post("/v1/search", json={"query": "refunds", "k": 3})
        assert searched.status_code == 200 and searched.json()["hits"]
        assert client.get("/v1/documents").status_code == 200

        assert held.finish().startswith(b"HTTP/1.1 200")
        wait_for(lambda: shedder_of(busy_server).inflight == 0, "the held search to end")
        assert (
            client.post("/v1/documents", json={"title": "Later", "text": "Accepted again."}).status_code
            == 201
        )


def test_bulk_is_shed_while_the_job_queue_is_deep(tmp_path: Path, model_cache: Path) -> None:
    with (
        serve(tmp_path, model_cache, worker_threads=0, shed_queue_depth=2) as live,
        httpx.Client(base_url=live.url, timeout=60, headers=bearer(mint_key(live.lore.store))) as client,
    ):
        batch = {"documents": [{"title": "Queued", "text": "Nobody runs this job."}]}
        assert client.post("/v1/ingest", json=batch).status_code == 202
        assert client.post("/v1/ingest", json=batch).status_code in (202, 503)

        def shed() -> bool:  # the depth is read at most once a second: retry until it shows
            return client.post("/v1/jobs/unknown/retry").status_code == 503

        wait_for(shed, "a bulk request to be shed for the queue's depth", poll=0.2)
        error = assert_error(client.post("/v1/ingest", json=batch), 503, "overloaded")
        assert error["details"]["measure"] == "queue_depth" and error["details"]["value"] >= 2
        assert client.post("/v1/search", json={"query": "queued", "k": 1}).status_code == 200


def test_past_their_own_threshold_interactive_requests_are_shed_too_but_probes_never(
    tmp_path: Path, model_cache: Path
) -> None:
    with serve(
        tmp_path, model_cache, shed_inflight=1, shed_inflight_interactive=2, shed_retry_after=3
    ) as live:
        token = mint_key(live.lore.store)
        live.lore.add_text(title="Refunds", text="Refunds reach your card within five business days.")
        with httpx.Client(base_url=live.url, timeout=60, headers=bearer(token)) as client:
            held = [HeldRequest(live, token), HeldRequest(live, token)]
            wait_for(lambda: shedder_of(live).inflight == 2, "two held searches to be in flight")

            shed = client.post("/v1/search", json={"query": "refunds", "k": 3})
            error = assert_error(shed, 503, "overloaded")
            assert shed.headers["retry-after"] == "3"
            assert error["details"] == {"measure": "requests_in_flight", "value": 2, "threshold": 2}
            assert "requests are refused" in error["message"]
            assert_error(client.get("/v1/documents"), 503, "overloaded")
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 200
            assert client.get("/metrics").status_code == 200

            for request in held:
                assert request.finish().startswith(b"HTTP/1.1 200")
            wait_for(lambda: shedder_of(live).inflight == 0, "the held searches to end")
            assert client.post("/v1/search", json={"query": "refunds", "k": 3}).status_code == 200
