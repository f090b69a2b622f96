"""OpenTelemetry tracing over real servers, its spans collected by the SDK's in-memory exporter (handed to
`create_app`): a search is a server span with SQL children, an answer's call to an OpenAI-compatible server an
HTTP client span; every span carries the request id. Tracing on without its extra is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import SecretStr

from lore.api import create_app
from lore.config import Settings, TracingSettings
from lore.tracing import REQUEST_ID, Tracing, exporter_headers
from tests.answers.servers import LiveServer as ModelServer
from tests.api.conftest import LiveServer
from tests.keys import bearer, mint_key
from tests.operations.conftest import answering_settings, sdk_connections_collected


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
def traced(
    tmp_path_factory: pytest.TempPathFactory,
    model_cache: Path,
    model_server: ModelServer,
    exporter: InMemorySpanExporter,
) -> Iterator[LiveServer]:
    settings = answering_settings(
        tmp_path_factory.mktemp("traced"), model_cache, model_server, tracing_enabled=True
    )
    with LiveServer(create_app(settings, span_exporter=exporter)) as live:
        yield live
    sdk_connections_collected()


@pytest.fixture(scope="module")
def client(traced: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=traced.url, headers=bearer(mint_key(traced.lore.store)), timeout=60) as client:
        client.post(
            "/v1/documents", json={"title": "Refunds", "text": "Refunds take five days.", "source": "r"}
        )
        yield client


def spans_of(traced: LiveServer, exporter: InMemorySpanExporter, request_id: str) -> list[ReadableSpan]:
    """The spans of the request's trace, once exported."""
    tracing: Tracing = traced.app.state.tracing
    tracing.provider.force_flush()
    (server,) = [
        span
        for span in exporter.get_finished_spans()
        if span.kind == SpanKind.SERVER and span.attributes and span.attributes.get(REQUEST_ID) == request_id
    ]
    assert server.context is not None
    trace_id = server.context.trace_id
    return [
        span for span in exporter.get_finished_spans() if span.context and span.context.trace_id == trace_id
    ]


def descends_from(span: ReadableSpan, root: ReadableSpan, spans: list[ReadableSpan]) -> bool:
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    while span.parent is not None:
        if root.context is not None and span.parent.span_id == root.context.span_id:
            return True
        span = by_id[span.parent.span_id]
    return False


def test_a_search_is_a_server_span_with_sql_children(
    traced: LiveServer, client: httpx.Client, exporter: InMemorySpanExporter
) -> None:
    response = client.post("/v1/search", json={"query": "refunds"}, headers={"X-Request-ID": "traced-search"})
    assert response.status_code == 200 and response.json()["hits"]
    spans = spans_of(traced, exporter, "traced-search")
    (server,) = [span for span in spans if span.kind == SpanKind.SERVER]
    assert server.name == "POST /v1/search"
    assert server.attributes is not None and server.attributes["http.route"] == "/v1/search"
    sql = [span for span in spans if span.attributes and "db.statement" in span.attributes]
    assert len(sql) >= 2 and all(descends_from(span, server, spans) for span in sql)
    assert any("chunks" in str(span.attributes["db.statement"]) for span in sql if span.attributes)
    assert all(span.attributes and span.attributes[REQUEST_ID] == "traced-search" for span in sql)


def test_an_answer_calls_its_provider_in_an_http_client_span(
    traced: LiveServer, client: httpx.Client, exporter: InMemorySpanExporter, model_server: ModelServer
) -> None:
    conversation = client.post("/v1/conversations").json()["id"]
    answer = client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"content": "How long do refunds take?"},
        headers={"X-Request-ID": "traced-answer"},
    )
    assert answer.status_code == 201, answer.text
    spans = spans_of(traced, exporter, "traced-answer")
    (server,) = [span for span in spans if span.kind == SpanKind.SERVER]
    # this test's own client is traced too (the instrumentation is process-wide): its span is the trace's root
    (call,) = [span for span in spans if (url_of(span) or "").startswith(model_server.url)]
    assert call.kind == SpanKind.CLIENT
    assert url_of(span=call) == f"{model_server.url}/v1/chat/completions"
    assert (
        descends_from(call, server, spans)
        and call.attributes
        and call.attributes[REQUEST_ID] == "traced-answer"
    )


def url_of(span: ReadableSpan) -> str | None:
    attributes = span.attributes or {}
    url = attributes.get("url.full", attributes.get("http.url"))
    return str(url) if url is not None else None


def test_exporter_headers_are_read_from_one_secret_setting() -> None:
    settings = TracingSettings(otlp_headers=SecretStr("x-api-key=abc=1, tenant = t1,broken"))
    assert exporter_headers(settings) == {"x-api-key": "abc=1", "tenant": "t1"}
    assert "abc" not in repr(Settings(_env_file=None, otlp_headers="x-api-key=abc"))


def test_tracing_on_without_its_extra_is_one_clear_line(tmp_path: Path) -> None:
    """A process where OpenTelemetry cannot be imported, as on an install without the extra."""
    script = (
        "import sys; sys.modules['opentelemetry'] = None; sys.argv = ['lore', 'serve', '--port', '0']\n"
        "from lore.cli.main import main; main()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORE_")}
    env |= {"LORE_DATA_DIR": str(tmp_path), "LORE_TRACING_ENABLED": "true"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'lore[tracing]'" in done.stderr and "Traceback" not in done.stderr
