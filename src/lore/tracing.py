"""OpenTelemetry tracing, the optional `tracing` extra (`pip install 'lore[tracing]'`), on when
`LORE_TRACING_ENABLED=true`: a server span per request (FastAPI), a child span per SQL statement of the store
(SQLAlchemy) and per outgoing HTTP call (httpx, and httpx2 under the OpenAI and Anthropic SDKs), exported over
OTLP/HTTP in batches. Every span carries the request's id as `lore.request_id`.

    tracing = Tracing.from_settings(settings.tracing)   # None when disabled
    tracing.instrument_app(app, request_hook)           # at build time
    tracing.start(store.engine) ... tracing.stop()      # the app's lifespan

Instrumenting SQLAlchemy and httpx is process-wide: one app of a process is traced at a time (a server has one).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lore.config import TracingSettings
from lore.errors import LoreError
from lore.logs import current_request_id

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import Span, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span as ApiSpan
    from sqlalchemy.engine import Engine

logger = logging.getLogger("lore.tracing")
REQUEST_ID = "lore.request_id"
INSTALL = "pip install 'lore[tracing]'"


class TracingNotInstalled(LoreError):
    code = "tracing_not_installed"


def check_installed(settings: TracingSettings) -> None:
    """When tracing is on, its packages must be there: a clear error at start-up, not at the first request."""
    if not settings.tracing_enabled:
        return
    try:
        import opentelemetry.instrumentation.fastapi
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as error:
        raise TracingNotInstalled(
            f"LORE_TRACING_ENABLED is on but OpenTelemetry is not installed ({error.name}): {INSTALL}",
            details={"install": INSTALL},
        ) from None


def exporter_headers(settings: TracingSettings) -> dict[str, str]:
    """`LORE_OTLP_HEADERS` (`name=value,name=value`) as a mapping."""
    if settings.otlp_headers is None:
        return {}
    pairs = (
        part.split("=", 1) for part in settings.otlp_headers.get_secret_value().split(",") if "=" in part
    )
    return {name.strip(): value.strip() for name, value in pairs}


class Tracing:
    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self._instrumentors: list[Any] = []

    @classmethod
    def from_settings(cls, settings: TracingSettings, exporter: SpanExporter | None = None) -> Tracing | None:
        """The tracing the settings ask for (None when off); `exporter` replaces the OTLP one (tests pass an
        in-memory exporter)."""
        if not settings.tracing_enabled:
            return None
        check_installed(settings)
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint, headers=exporter_headers(settings))
        provider = TracerProvider(
            resource=Resource.create({SERVICE_NAME: settings.tracing_service_name}),
            sampler=ParentBased(TraceIdRatioBased(settings.tracing_sample_ratio)),
        )
        provider.add_span_processor(_request_ids())
        provider.add_span_processor(BatchSpanProcessor(exporter))
        return cls(provider)

    def instrument_app(self, app: FastAPI, request_hook: Any) -> None:
        """A server span around every request; `request_hook(span, scope)` tags it (with the request id)."""
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            server_request_hook=request_hook,
            exclude_spans=["receive", "send"],  # one span per request, not one per body piece
        )

    def start(self, *engines: Engine) -> None:
        """SQL statements of `engines` and every outgoing HTTP call become child spans."""
        from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        sql = SQLAlchemyInstrumentor()
        # Its declared range stops below SQLAlchemy 2.1, which its event hooks (unchanged since 1.4) serve alike.
        sql.instrument(engines=list(engines), tracer_provider=self.provider, skip_dep_check=True)
        self._instrumentors.append(sql)
        for http in (HTTPXClientInstrumentor(), HTTPX2ClientInstrumentor()):
            http.instrument(tracer_provider=self.provider)
            self._instrumentors.append(http)

    def stop(self) -> None:
        """Instrumentation removed, and the spans still buffered exported."""
        for instrumentor in reversed(self._instrumentors):
            instrumentor.uninstrument()
        self._instrumentors.clear()
        self.provider.shutdown()


def _request_ids() -> Any:
    """A span processor that tags each span started under a request (or a job it submitted) with its id."""
    from opentelemetry.sdk.trace import SpanProcessor

    class RequestIds(SpanProcessor):
        def on_start(self, span: Span, parent_context: Context | None = None) -> None:
            request_id = current_request_id()
            if request_id is not None:
                span.set_attribute(REQUEST_ID, request_id)

    return RequestIds()


def tag(span: ApiSpan, request_id: str) -> None:
    if span.is_recording():
        span.set_attribute(REQUEST_ID, request_id)
