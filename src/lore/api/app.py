"""The HTTP API application. `create_app` is also a uvicorn factory that reads its settings from `LORE_*`
variables, as `lore serve` does (`Settings.for_server`): `uvicorn lore.api.app:create_app --factory`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import TYPE_CHECKING

import anyio
from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi_offline import FastAPIOffline
from starlette.middleware import Middleware

from lore.answers import AnswerMetrics
from lore.answers.tenants import stored_policies
from lore.api.access_log import AccessLog
from lore.api.auth import authorize
from lore.api.errors import EXCEPTION_HANDLERS, UnexpectedErrors
from lore.api.framing import BodyTimeout
from lore.api.hardening import request_guards, security_headers
from lore.api.limits import BodyLimit
from lore.api.metrics import ApiMetrics, RequestMetrics
from lore.api.metrics_history import MetricsHistory
from lore.api.permissions import unguarded
from lore.api.request_id import RequestIds, tag_server_span
from lore.api.routes import (
    access,
    adapters,
    admin,
    analytics,
    audit,
    auth,
    chat,
    collections,
    conversations,
    documents,
    end_users,
    events,
    gaps,
    groups,
    health,
    intents,
    jobs,
    keys,
    mcp,
    recommendations,
    search,
    secrets,
    sources,
    tenant_settings,
    tenants,
    usage,
    users,
    webhooks,
)
from lore.api.streaming import AnswerSlots
from lore.api.throttle import Throttle, Throttling, throttle
from lore.api.user_auth import access_token_check, open_identity, session_cookie_check
from lore.config import Settings
from lore.conversations import open_answering
from lore.intelligence.gaps import KnowledgeGaps
from lore.intelligence.recommend.refresh import RefreshScheduler
from lore.jobs.runtime import JobRuntime
from lore.mcp.http import session_manager
from lore.mcp.tools import Backing
from lore.security.audit import AuditLog
from lore.security.bootstrap import signing_secret
from lore.security.keys import KeyRing
from lore.security.secrets import SecretBox, TenantSecrets
from lore.service import Lore
from lore.service.index_sync import IndexSaver
from lore.tracing import Tracing
from lore.ui import mount_ui

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter


def create_app(
    settings: Settings | None = None, lore: Lore | None = None, *, span_exporter: SpanExporter | None = None
) -> FastAPI:
    """The API over `lore`, or over a Lore opened from `settings` (default: `Settings.for_server()`) at start-up
    and closed at shutdown. A Lore passed in stays the caller's to close. With tracing on, spans go to
    `span_exporter` if given (a test's in-memory one), else over OTLP."""
    settings = settings or (lore.settings if lore else Settings.for_server())
    secret = signing_secret(settings)  # refuses to start without one (outside the embedded default)
    box = SecretBox.from_settings(settings)  # and without secret keys
    tracing = Tracing.from_settings(settings.tracing, span_exporter)  # and without its extra when it is on
    metrics = ApiMetrics()
    throttling = Throttling(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = lore if lore is not None else await run_in_threadpool(Lore.open, settings)
        if tracing is not None:
            tracing.start(service.store.engine)
        service.index_sync.follow()  # writes and searches never wait for a long catch-up
        saver = IndexSaver(service.index_sync)
        saver.start()
        runtime = await run_in_threadpool(JobRuntime.for_lore, service)  # worker threads and the reaper
        runtime.start()
        refreshes = RefreshScheduler(
            service.store, runtime.queue, settings.intelligence.recommend_refresh_seconds
        )
        refreshes.start()
        app.state.lore = service
        app.state.keys = KeyRing(
            service.store.api_keys, service.store.tenants, cache_seconds=settings.auth.key_cache_seconds
        )
        identity = await run_in_threadpool(open_identity, service.store, settings, secret, box)
        app.state.identity = identity
        app.state.credential_checks.append(access_token_check(identity))
        app.state.cookie_checks.append(session_cookie_check(identity))
        app.state.jobs = runtime.queue
        app.state.secrets = TenantSecrets(service.store.secrets, box)
        app.state.answering = open_answering(
            service,
            AnswerMetrics(metrics.registry),
            policy_of=stored_policies(service.store),
            secrets=app.state.secrets,
            audit=AuditLog(service.store.audit),
        )
        app.state.gaps = KnowledgeGaps(service)
        app.state.search_limiter = anyio.CapacityLimiter(settings.serving.search_threads)
        app.state.answer_slots = AnswerSlots(settings.answers.answer_concurrency)
        throttling.open(service.store, runtime.queue.transport.pending, service.bus)
        metrics.watch_caches(service.cache_stats)
        metrics.watch_events(service.events.counts.snapshot)
        metrics.watch_process(service.store.engine, service.index_sync.lag)
        metrics.watch_store(service.store.jobs.counts, service.store.usage.holdings)
        service.probes.attach(metrics)
        history = MetricsHistory(
            metrics, settings.serving.metrics_history_seconds, settings.serving.metrics_history_window_seconds
        )
        history.start()
        app.state.metrics_history = history
        mcp_sessions = session_manager(
            Backing(service, app.state.answering, app.state.search_limiter, app.state.answer_slots),
            throttling,
        )
        app.state.mcp = mcp_sessions
        gc.collect()
        gc.freeze()  # the indexes loaded at start-up are long-lived: full collections no longer walk them
        try:
            async with mcp_sessions.run():
                yield
        finally:
            await run_in_threadpool(history.stop)
            service.probes.detach(metrics)
            metrics.close()
            await throttling.close()
            await run_in_threadpool(refreshes.stop)
            await run_in_threadpool(runtime.stop)
            await run_in_threadpool(saver.stop)
            identity.close()
            await run_in_threadpool(service.index_sync.stop_following)
            if lore is None:
                await run_in_threadpool(service.close)
            if tracing is not None:
                await run_in_threadpool(tracing.stop)

    app = FastAPIOffline(  # API docs served from the package: /docs works with no network
        title="Lore",
        version=version("lore"),
        summary="Hybrid search and cited answers over your own documents.",
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        # every route: its row in ROUTE_SCOPES checked, then the caller's rate limits and quotas
        dependencies=[Depends(authorize), Depends(throttle)],
        middleware=[
            Middleware(RequestIds),
            *([Middleware(AccessLog)] if settings.serving.access_log else []),
            security_headers(settings),
            Middleware(RequestMetrics, metrics=metrics),
            Middleware(UnexpectedErrors),
            Middleware(Throttle, throttling=throttling),
            Middleware(
                BodyLimit,
                json_limit=settings.serving.max_request_bytes,
                upload_limit=settings.serving.max_upload_bytes,
            ),
            Middleware(BodyTimeout, seconds=settings.serving.body_timeout_seconds),
            *request_guards(settings),
        ],
    )
    app.state.settings = settings
    app.state.tracing = tracing
    if tracing is not None:
        tracing.instrument_app(app, tag_server_span)
    app.state.metrics = metrics
    app.state.credential_checks = []
    app.state.cookie_checks = []
    app.state.throttling = throttling
    routers = (
        health,
        documents,
        collections,
        search,
        conversations,
        chat,
        jobs,
        admin,
        keys,
        tenants,
        usage,
        auth,
        users,
    )
    for module in (
        *routers,
        groups,
        access,
        end_users,
        audit,
        secrets,
        tenant_settings,
        events,
        analytics,
        gaps,
        adapters,
        recommendations,
        intents,
        mcp,
        webhooks,
        sources,
    ):
        app.include_router(module.router)
    mount_ui(app)
    _check_guarded(app)
    return app


def routes_of(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app routes to a handler: the API's and the web UI's pages (which the OpenAPI
    leaves out) alike."""
    return [
        (method, path)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and (path := context.path_format or context.path) is not None
        for method in context.methods or ()
    ]


def _check_guarded(app: FastAPI) -> None:
    """Refuse to build an app with a route that has no row in ROUTE_SCOPES."""
    missing = unguarded(routes_of(app))
    if missing:
        raise RuntimeError(f"routes without a permission in lore.api.permissions.ROUTE_SCOPES: {missing}")
