"""Rate limits, quotas, usage and load shedding at the edge of the API, in two parts:

- `Throttle`, a pure ASGI middleware: refuses bulk requests while the process is overloaded (before routing,
  authentication or reading the body), counts requests in flight, adds the `RateLimit-Limit`,
  `RateLimit-Remaining` and `RateLimit-Reset` headers to every response the limits applied to, and counts a
  successful request's usage (searches, answers, bytes ingested).
- `throttle`, an app-wide dependency that runs after authentication (it reads `request.state.principal`):
  counts the request against its rate limits (429 `rate_limited`) and its tenant's quotas (429
  `quota_exceeded`), and counts it in the tenant's and key's requests of the day.

`Throttling` holds their shared state; the app builds it with its settings and opens it in its lifespan.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lore.answers import Answer, Usage
from lore.api.errors import lore_error_response
from lore.api.load import ROUTE_USE, LoadShedder, RouteUse, route_use
from lore.backends.store.database import Database
from lore.backends.store.tenant_records import TenantRecords
from lore.backends.store.usage_records import NO_KEY
from lore.bus import EventBus
from lore.config import Settings
from lore.conversations import StoredTurn
from lore.errors import Overloaded, RateLimited
from lore.security.addresses import ClientAddresses
from lore.security.limits import Limit, RateLimiter, Verdict, Window, limits_for
from lore.security.principal import Principal
from lore.security.quota_notices import QuotaNotices
from lore.security.quotas import Policies, PolicySource, Quotas, TenantPolicy, defaults
from lore.security.usage import UsageRecorder

E = TypeVar("E")

# Keys of the request's state (`scope["state"]`, also `request.state`) that the two parts share.
PRINCIPAL = "principal"  # set by authentication
USE = "lore_route_use"
WINDOW = "lore_rate_limit_window"
SIGN_IN_PATHS = "/v1/auth/"
UI_SIGN_INS = frozenset({"/login", "/login/mfa"})  # the web UI's sign-in forms, posted


def key_id(principal: Principal) -> str:
    """The `usage.key_id` a principal's requests are counted under ("" when no key made them)."""
    return principal.id if principal.kind in ("key", "publishable") else NO_KEY


class Throttling:
    """The shedder, limiter, policies, quotas and usage recorder of one app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.addresses = ClientAddresses(settings.limits.trusted_proxies)
        self.shedder = LoadShedder(settings.limits)
        self._opened: tuple[RateLimiter, Policies, Quotas, UsageRecorder] | None = None
        self._notices: QuotaNotices | None = None

    def open(self, db: Database, queue_depth: Callable[[], int], bus: EventBus | None = None) -> None:
        """Start, inside the app's event loop (the limiter's Redis client belongs to it): usage is counted into
        `db.usage`, policies read from `db.tenants`; `quota.near` events go on `bus`."""
        limits, records = self.settings.limits, db.usage
        recorder = UsageRecorder(
            records, flush_seconds=limits.usage_flush_seconds, flush_increments=limits.usage_flush_increments
        )
        recorder.start()
        policies = Policies(_settings_of(db.tenants), defaults(limits), limits.policy_cache_seconds)
        if bus is not None:
            self._notices = QuotaNotices(db.notices, bus, limits.quota_near_fraction)
        quotas = Quotas(recorder, records, limits.policy_cache_seconds, self._notices)
        self._opened = (RateLimiter.from_settings(self.settings), policies, quotas, recorder)
        self.shedder.queue_depth = queue_depth

    async def close(self) -> None:
        """Write the buffered usage and let go of the limiter's storage."""
        if self._opened is not None:
            limiter, _policies, _quotas, recorder = self._opened
            self._opened = None
            await anyio.to_thread.run_sync(recorder.close)
            await limiter.close()
        if self._notices is not None:
            await anyio.to_thread.run_sync(self._notices.close)
            self._notices = None

    @property
    def parts(self) -> tuple[RateLimiter, Policies, Quotas, UsageRecorder]:
        if self._opened is None:
            raise RuntimeError("Throttling.open() was not called: the app's lifespan opens it")
        return self._opened

    @property
    def recorder(self) -> UsageRecorder:
        return self.parts[3]

    def policy(self, tenant_id: str) -> TenantPolicy:
        """The tenant's rate limits and quotas in force: its policy over the server's defaults, as this
        process's next request of the tenant meets them (blocking: it may read the store)."""
        return self.parts[1].of(tenant_id)

    # --- the dependency's part ---------------------------------------------------------------------------

    async def admit(self, request: Request, principal: Principal) -> None:
        """Count the request against its limits and quotas; raise RateLimited or QuotaExceeded if it may not
        go on. The rate limit's window is left in the request's state for the headers."""
        limiter, policies, quotas, recorder = self.parts
        tenant = principal.tenant_id
        policy = policies.cached(tenant)
        if policy is None:
            policy = await anyio.to_thread.run_sync(policies.load, tenant)
        verdict = await limiter.hit(self._limits(request, principal, policy))
        if verdict.window is not None:
            request.scope.setdefault("state", {})[WINDOW] = verdict.window
        if not verdict.allowed:
            raise _rate_limited(verdict)
        use = request.scope.get("state", {}).get(USE) or route_use(request.method, request.url.path)
        quotas.check_requests(tenant, policy)
        await self._check_use(tenant, policy, use)
        recorder.add(tenant, key_id(principal), "requests")

    async def admit_use(self, principal: Principal, use: RouteUse) -> None:
        """Check the quotas of what an admitted request goes on to do (an MCP tool call that answers or adds a
        document, inside a request that was counted as a plain one)."""
        policies = self.parts[1]
        policy = policies.cached(principal.tenant_id)
        if policy is None:
            policy = await anyio.to_thread.run_sync(policies.load, principal.tenant_id)
        await self._check_use(principal.tenant_id, policy, use)

    async def _check_use(self, tenant: str, policy: TenantPolicy, use: RouteUse) -> None:
        quotas = self.parts[2]
        if use.answers:
            quotas.check_tokens(tenant, policy)
        if use.ingests:
            await anyio.to_thread.run_sync(lambda: quotas.check_storage(tenant, policy))

    async def admit_sign_in(self, request: Request) -> None:
        """Count a sign-in request against its client address's allowance."""
        expression = self.settings.limits.rate_limit_sign_in
        limit = Limit("sign_in", expression, ("sign_in", self._address(request) or "-"))
        verdict = await self.parts[0].hit([limit])
        if verdict.window is not None:
            request.scope.setdefault("state", {})[WINDOW] = verdict.window
        if not verdict.allowed:
            raise _rate_limited(verdict)

    def _limits(self, request: Request, principal: Principal, policy: TenantPolicy) -> list[Limit]:
        return limits_for(principal, policy, self._address(request))

    def _address(self, request: Request) -> str | None:
        peer = request.client.host if request.client else None
        return self.addresses.of(peer, request.headers.get("x-forwarded-for"))

    # --- the middleware's part ---------------------------------------------------------------------------

    def succeeded(self, state: Mapping[str, Any], use: RouteUse, body_bytes: int) -> None:
        """Count a successful request's own usage (its `requests` were counted when it was admitted)."""
        principal = state.get(PRINCIPAL)
        if not isinstance(principal, Principal) or self._opened is None:
            return
        _limiter, _policies, quotas, recorder = self._opened
        key = key_id(principal)
        if use.metric:
            recorder.add(principal.tenant_id, key, use.metric)
        if use.ingests:
            recorder.add(principal.tenant_id, key, "bytes_ingested", body_bytes)
            quotas.added(principal.tenant_id)

    def answered(self, principal: Principal, usage: Usage) -> None:
        """Count the tokens of an answer, toward the tenant's usage and its tokens-per-day quota."""
        self.recorder.add_answer(principal.tenant_id, key_id(principal), usage)

    def counted(self, principal: Principal, events: Iterator[E]) -> Iterator[E]:
        """An answer's events passed on as they come; the whole answer's tokens are counted when it passes
        (an `Answer` of the chat endpoint, or the `StoredTurn` of a conversation)."""
        for event in events:
            if isinstance(event, Answer):
                self.answered(principal, event.usage)
            elif isinstance(event, StoredTurn) and event.answer.usage:
                self.answered(principal, _usage_of(event.answer.usage))
            yield event


def _usage_of(stored: Mapping[str, Any]) -> Usage:
    """The tokens of a stored answer's usage record (its timings are not counted)."""
    return Usage(
        provider=str(stored["provider"]),
        model=str(stored.get("model", "")),
        prompt_tokens=int(stored["prompt_tokens"]),
        completion_tokens=int(stored["completion_tokens"]),
        latency_seconds=0.0,
        first_token_seconds=None,
    )


def _settings_of(tenants: TenantRecords) -> PolicySource:
    def settings_of(tenant_id: str) -> dict[str, Any] | None:
        tenant = tenants.get(tenant_id)
        return tenant.settings if tenant is not None else None

    return settings_of


async def throttle(request: Request) -> None:
    """The app-wide dependency. Sign-ins are limited per client address; other requests without a principal
    (health checks, docs) pass untouched."""
    principal = getattr(request.state, PRINCIPAL, None)
    if isinstance(principal, Principal):
        await request.app.state.throttling.admit(request, principal)
    elif _is_sign_in(request):
        await request.app.state.throttling.admit_sign_in(request)


def _is_sign_in(request: Request) -> bool:
    path = request.url.path
    return path.startswith(SIGN_IN_PATHS) or (request.method == "POST" and path in UI_SIGN_INS)


def _rate_limited(verdict: Verdict) -> RateLimited:
    window = verdict.window
    retry_after = window.reset_seconds if window is not None else 1.0
    limit = window.limit if window is not None else None
    return RateLimited(
        f"too many requests for this {verdict.limited_by}: retry after the time in Retry-After",
        retry_after=retry_after,
        details={
            "limit": verdict.limited_by,
            "allowed": limit,
            "retry_after_seconds": math.ceil(retry_after),
        },
    )


def rate_limit_headers(window: Window) -> dict[str, str]:
    """The IETF draft's names: the limit, what is left of it, and seconds until it frees up."""
    return {
        "RateLimit-Limit": str(window.limit),
        "RateLimit-Remaining": str(window.remaining),
        "RateLimit-Reset": str(math.ceil(window.reset_seconds)),
    }


def counts_as(request: Request, route: str) -> None:
    """The request did what `route` does (a web UI page that ran a search through the API's handler): its
    success counts toward that route's usage metric."""
    request.scope.setdefault("state", {})[USE] = ROUTE_USE[route]


class Throttle:
    def __init__(self, app: ASGIApp, *, throttling: Throttling) -> None:
        self.app = app
        self.throttling = throttling

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        use = route_use(scope["method"], scope["path"])
        state: dict[str, Any] = scope.setdefault("state", {})
        state[USE] = use
        shedder = self.throttling.shedder
        try:
            await shedder.check(use)
        except Overloaded as error:
            await lore_error_response(error)(scope, receive, send)
            return
        shedder.inflight += 1
        status, received = 500, 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                window = state.get(WINDOW)
                if isinstance(window, Window):
                    headers = MutableHeaders(scope=message)
                    for name, value in rate_limit_headers(window).items():
                        headers[name] = value
            await send(message)

        try:
            await self.app(scope, counting_receive, sending)
        finally:
            shedder.inflight -= 1
        if status < 400:  # a handler may have said it did what another route does (`counts_as`)
            self.throttling.succeeded(state, state.get(USE, use), received)
