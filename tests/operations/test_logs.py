"""Structured logs over a real server: the access event and its fields, request ids accepted or made, returned
on every response and carried into log lines, jobs and provider calls; the two renderings."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from lore.logs import formatter, renders_json
from tests.answers.servers import Reply, Script
from tests.api.conftest import LiveServer
from tests.keys import bearer, mint_key
from tests.operations.conftest import capturing
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=bearer(mint_key(server.lore.store)), timeout=60) as client:
        yield client


def test_each_request_is_one_access_event_with_its_fields(server: LiveServer, client: httpx.Client) -> None:
    with capturing() as logs:
        response = client.post(
            "/v1/search?mode=keyword", json={"query": "anything"}, headers={"X-Request-ID": "req-42.a:b"}
        )
    assert response.status_code == 200 and response.headers["x-request-id"] == "req-42.a:b"
    (line,) = logs.lines(logger="lore.access", request_id="req-42.a:b")
    assert line["event"] == "request" and line["level"] == "info" and line["timestamp"].endswith("Z")
    assert (line["method"], line["route"], line["path"], line["status"]) == (
        "POST",
        "/v1/search",
        "/v1/search",
        200,
    )
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert (line["tenant"], line["principal_kind"]) == ("default", "key")
    key_id = client.get("/v1/keys").json()["items"][0]["id"]
    assert line["principal_id"] in {item["id"] for item in client.get("/v1/keys").json()["items"]} | {key_id}
    assert "mode=keyword" not in json.dumps(line) and client.headers["authorization"][7:] not in logs.text


def test_a_route_template_names_the_route_not_the_id(client: httpx.Client) -> None:
    with capturing() as logs:
        response = client.get("/v1/documents/no-such-document")
    assert response.status_code == 404
    (line,) = logs.lines(logger="lore.access", request_id=response.headers["x-request-id"])
    assert line["route"] == "/v1/documents/{document_id}" and line["path"] == "/v1/documents/no-such-document"


@pytest.mark.parametrize("given", [None, "", "has space", "x" * 129, "ünïcode", "<script>", "a;b"])
def test_a_missing_or_unsafe_request_id_is_replaced_on_every_response(
    server: LiveServer, given: str | None
) -> None:
    headers = {} if given is None else {"X-Request-ID": given.encode()}
    for response in (
        httpx.get(f"{server.url}/healthz", headers=headers),
        httpx.get(f"{server.url}/v1/documents", headers=headers),  # 401, from the error handlers
        httpx.get(f"{server.url}/no/such/route", headers=headers),  # 404 from routing
    ):
        made = response.headers["x-request-id"]
        assert made != given and len(made) == 32 and int(made, 16) >= 0


def test_ids_differ_between_requests(server: LiveServer) -> None:
    ids = {httpx.get(f"{server.url}/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


def test_a_job_logs_with_the_id_of_the_request_that_submitted_it(client: httpx.Client) -> None:
    body = {"documents": [{"title": "Kestrels", "text": "Kestrels hover over fields.", "source": "k.md"}]}
    with capturing() as logs:
        job = client.post("/v1/ingest", json=body, headers={"X-Request-ID": "ingest-7"}).json()
        wait_for(lambda: client.get(f"/v1/jobs/{job['id']}").json()["state"] == "succeeded", "the job")
    lines = logs.lines(logger="lore.jobs", job_id=job["id"])
    assert lines and all(line["request_id"] == "ingest-7" for line in lines)
    assert any("attempt 1" in line["event"] for line in lines)


def test_provider_calls_carry_the_request_id(client: httpx.Client, script: Script) -> None:
    client.post(
        "/v1/documents", json={"title": "Refunds", "text": "Refunds take five days.", "source": "r.md"}
    )
    conversation = client.post("/v1/conversations").json()["id"]
    before = len(script.requests)
    answer = client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"content": "How long do refunds take?"},
        headers={"X-Request-ID": "ask-99"},
    )
    assert answer.status_code == 201, answer.text
    (sent,) = script.requests[before:]
    assert sent["headers"]["x-request-id"] == "ask-99"


def test_provider_log_lines_carry_the_request_id(client: httpx.Client, script: Script) -> None:
    """The provider's SDK logs its call from the thread the answer runs in, which copied the request's context."""
    conversation = client.post("/v1/conversations").json()["id"]
    script.then(Reply(status=503))
    with capturing() as logs:
        failed = client.post(
            f"/v1/conversations/{conversation}/messages",
            json={"content": "How long do refunds take?"},
            headers={"X-Request-ID": "ask-failing"},
        )
    assert failed.status_code == 503
    (call,) = [line for line in logs.lines(request_id="ask-failing") if "/chat/completions" in line["event"]]
    assert "503" in call["event"]


def test_auto_is_json_on_a_pipe_and_console_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert renders_json("auto", io.StringIO()) and not renders_json("auto", Terminal())
    assert renders_json("json", Terminal()) and not renders_json("console", io.StringIO())


def test_the_console_rendering_is_one_readable_line_with_the_fields() -> None:
    record = logging.LogRecord("lore.access", logging.INFO, __file__, 1, "request", None, None)
    record.status = 201
    line = formatter("console").format(record)
    assert "\n" not in line and "request" in line and "status=201" in line and "lore.access" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
    assert json.loads(formatter("json").format(record))["status"] == 201
