"""The one place requests are made: `Exchange` builds each request (path, query, body, auth header), decides
whether a failure is retried and after how long, and turns error responses into exceptions; `SyncTransport`
and `AsyncTransport` run the same loop over `httpx.Client` and `httpx.AsyncClient`.

Retried: 429 and 503 (not a 503 that asks for a setting, `provider_*`), after the response's `Retry-After`
when it has one, else after an exponential backoff with full jitter; a connection that could not be made, for
every method; any other connection failure (reset, timeout) only for idempotent methods. A 401 of a login's
expired access token is retried once, after the refresh token has bought a new pair."""

from __future__ import annotations

import asyncio
import email.utils
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from lore_client._pages import AsyncPages, Page, Pages
from lore_client._routes import OMIT, Call, Route
from lore_client._streams import AsyncStream, Stream
from lore_client.errors import ConnectionFailed, LoreError, Timeout, error_for

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
REFRESH = Route("POST", "/v1/auth/refresh", "auth.refresh")


@dataclass(frozen=True)
class Retries:
    """How often, and after how long, a refused or failed request is sent again.

    `attempts` retries at most; waits start at `backoff` seconds and double up to `max_backoff`, each drawn at
    random below that bound (full jitter); a `Retry-After` is waited for itself (plus up to `backoff` of
    jitter), unless it exceeds `max_retry_after`: then the error is raised at once (a quota for the day)."""

    attempts: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number `attempt` (1 for the first); None: do not retry."""
        if attempt > self.attempts:
            return None
        if retry_after is not None:
            return (
                retry_after + random.uniform(0, self.backoff) if retry_after <= self.max_retry_after else None
            )
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


NO_RETRIES = Retries(attempts=0)


class Credentials:
    """The bearer token requests carry: an API key, or a login's access token (renewed with its refresh
    token)."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.refresh_token: str | None = None

    def use_login(self, access_token: str, refresh_token: str) -> None:
        self.token, self.refresh_token = access_token, refresh_token

    def clear(self) -> None:
        self.token = self.refresh_token = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds: a number, or an HTTP date."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


QueryPairs = list[tuple[str, str | int | float | bool | None]]


def _query(values: dict[str, object]) -> QueryPairs:
    pairs: QueryPairs = []
    for name, value in values.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is None or item is OMIT:
                continue
            pairs.append((name, str(item).lower() if isinstance(item, bool) else str(item)))
    return pairs


class Exchange:
    """What both transports share: building a request, the retry decision, reading a response."""

    def __init__(self, credentials: Credentials, retries: Retries) -> None:
        self.credentials = credentials
        self.retries = retries

    def request(
        self, client: httpx.Client | httpx.AsyncClient, route: Route, call: Call[Any]
    ) -> httpx.Request:
        path = route.path.format(**{name: quote(str(value), safe="") for name, value in call.path.items()})
        return client.build_request(
            route.method,
            path,
            params=_query(dict(call.query)),
            json=None if call.json is OMIT else call.json,
            data=call.data,
            files=call.files,
            headers=self.credentials.headers(),
        )

    def may_refresh(self, route: Route, response: httpx.Response) -> bool:
        return (
            response.status_code == 401
            and self.credentials.refresh_token is not None
            and not route.path.startswith("/v1/auth/")
        )

    def delay_after_response(self, attempt: int, response: httpx.Response, error: LoreError) -> float | None:
        transient = response.status_code == 429 or (
            response.status_code == 503 and not error.code.startswith("provider_")
        )
        return self.retries.delay(attempt, retry_after(response)) if transient else None

    def delay_after_failure(self, attempt: int, route: Route, failure: httpx.TransportError) -> float | None:
        never_sent = isinstance(failure, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if never_sent or route.method in IDEMPOTENT:
            return self.retries.delay(attempt, None)
        return None

    def error(self, response: httpx.Response) -> LoreError:
        """The exception of an error response, whose body has been read."""
        try:
            body: object = response.json()
        except ValueError:
            body = None
        return error_for(
            response.status_code, body, response.headers.get("X-Request-ID"), retry_after(response)
        )

    @staticmethod
    def failure(route: Route, failure: httpx.TransportError) -> LoreError:
        kind = Timeout if isinstance(failure, httpx.TimeoutException) else ConnectionFailed
        code = "timeout" if kind is Timeout else "connection_error"
        return kind(f"{route.method} {route.path}: {failure!r}", code=code)

    @staticmethod
    def result(response: httpx.Response, call: Call[Any]) -> Any:
        match call.expect:
            case "json":
                body = response.json()
                return body[call.unwrap] if call.unwrap else body
            case "text":
                return response.text
            case "bytes":
                return response.content
            case "location":
                return response.headers.get("Location", "")
        return None


def _refreshed_pair(body: Any) -> tuple[str, str]:
    return str(body["access_token"]), str(body["refresh_token"])


class SyncTransport:
    """`Exchange` over an `httpx.Client`."""

    def __init__(self, client: httpx.Client, exchange: Exchange) -> None:
        self.client = client
        self.exchange = exchange
        self._refreshing = threading.Lock()

    def _response(self, route: Route, call: Call[Any], stream: bool = False) -> httpx.Response:
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            sent_with = self.exchange.credentials.token
            request = self.exchange.request(self.client, route, call)
            try:
                response = self.client.send(request, stream=stream)
            except httpx.TransportError as failure:
                delay = self.exchange.delay_after_failure(attempt, route, failure)
                if delay is None:
                    raise self.exchange.failure(route, failure) from failure
                time.sleep(delay)
                continue
            if response.status_code < 400:
                return response
            response.read()
            response.close()
            if not refreshed and self.exchange.may_refresh(route, response):
                refreshed, attempt = True, attempt - 1
                self._refresh(sent_with)
                continue
            error = self.exchange.error(response)
            delay = self.exchange.delay_after_response(attempt, response, error)
            if delay is None:
                raise error
            time.sleep(delay)

    def _refresh(self, expired: str | None) -> None:
        """A new pair, unless another thread got one since `expired` was sent (a refresh token sent twice
        ends the whole login)."""
        credentials = self.exchange.credentials
        with self._refreshing:
            if credentials.token == expired:
                body = self.send(REFRESH, Call(json={"refresh_token": credentials.refresh_token}))
                credentials.use_login(*_refreshed_pair(body))

    def send(self, route: Route, call: Call[Any]) -> Any:
        return self.exchange.result(self._response(route, call), call)

    def pages(self, route: Route, call: Call[Page[Any]]) -> Pages[Any]:
        def fetch(cursor: str | None) -> Page[Any]:
            page: Page[Any] = self.send(route, call.with_query(cursor=cursor))
            return page

        return Pages(fetch)

    def stream(self, route: Route, call: Call[Any]) -> Stream[Any]:
        assert call.events is not None, f"{route.name} declares no event decoder"
        return Stream(lambda: self._response(route, call, stream=True), call.events)

    def close(self) -> None:
        self.client.close()


class AsyncTransport:
    """`Exchange` over an `httpx.AsyncClient`."""

    def __init__(self, client: httpx.AsyncClient, exchange: Exchange) -> None:
        self.client = client
        self.exchange = exchange
        self._refreshing = asyncio.Lock()

    async def _response(self, route: Route, call: Call[Any], stream: bool = False) -> httpx.Response:
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            sent_with = self.exchange.credentials.token
            request = self.exchange.request(self.client, route, call)
            try:
                response = await self.client.send(request, stream=stream)
            except httpx.TransportError as failure:
                delay = self.exchange.delay_after_failure(attempt, route, failure)
                if delay is None:
                    raise self.exchange.failure(route, failure) from failure
                await asyncio.sleep(delay)
                continue
            if response.status_code < 400:
                return response
            await response.aread()
            await response.aclose()
            if not refreshed and self.exchange.may_refresh(route, response):
                refreshed, attempt = True, attempt - 1
                await self._refresh(sent_with)
                continue
            error = self.exchange.error(response)
            delay = self.exchange.delay_after_response(attempt, response, error)
            if delay is None:
                raise error
            await asyncio.sleep(delay)

    async def _refresh(self, expired: str | None) -> None:
        credentials = self.exchange.credentials
        async with self._refreshing:
            if credentials.token == expired:
                body = await self.send(REFRESH, Call(json={"refresh_token": credentials.refresh_token}))
                credentials.use_login(*_refreshed_pair(body))

    async def send(self, route: Route, call: Call[Any]) -> Any:
        return self.exchange.result(await self._response(route, call), call)

    def pages(self, route: Route, call: Call[Page[Any]]) -> AsyncPages[Any]:
        async def fetch(cursor: str | None) -> Page[Any]:
            page: Page[Any] = await self.send(route, call.with_query(cursor=cursor))
            return page

        return AsyncPages(fetch)

    def stream(self, route: Route, call: Call[Any]) -> AsyncStream[Any]:
        assert call.events is not None, f"{route.name} declares no event decoder"
        return AsyncStream(lambda: self._response(route, call, stream=True), call.events)

    async def aclose(self) -> None:
        await self.client.aclose()
