"""`Lore` and `AsyncLore`: the same namespaces and root routes (one declaration each, `_routes`), over a sync
or an async transport; authenticated by an API key or by a user's login."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ClassVar, Literal, cast

import httpx

from lore_client._resources.admin import Audit, Secrets, TenantSettings, Webhooks
from lore_client._resources.content import Backups, Collections, Documents, Jobs, Sources
from lore_client._resources.conversations import Chat, Conversations, Events
from lore_client._resources.identity import Auth, EndUsers, Groups, Keys, Tenants, Users
from lore_client._resources.intelligence import Adapters, Analytics, Intents, Recommendations
from lore_client._routes import Async, Call, M, Namespace, Sync, endpoint, given
from lore_client._transport import AsyncTransport, Credentials, Exchange, Retries, SyncTransport
from lore_client.errors import MfaRequired
from lore_client.types import (
    Classification,
    Filters,
    Health,
    JSONObject,
    MfaChallenge,
    SearchResult,
    Tokens,
    Usage,
)

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0  # seconds per request, when a client is given no `timeout`
USER_AGENT = "lore-client/0.1.0"
MfaCode = str | Callable[[], str]


class _Api(Namespace[M]):
    """The routes that stand alone, and one attribute per namespace."""

    NAMESPACES: ClassVar[tuple[type[Namespace[Any]], ...]] = (
        Documents, Collections, Jobs, Sources, Backups, Conversations, Chat, Events, Auth, Users, Groups,
        Keys, Tenants, EndUsers, Audit, Secrets, TenantSettings, Webhooks, Analytics, Adapters,
        Recommendations, Intents,
    )  # fmt: skip

    def __init__(self, transport: Any) -> None:
        super().__init__(transport)
        self.documents: Documents[M] = Documents(transport)
        self.collections: Collections[M] = Collections(transport)
        self.jobs: Jobs[M] = Jobs(transport)
        self.sources: Sources[M] = Sources(transport)
        self.backups: Backups[M] = Backups(transport)
        self.conversations: Conversations[M] = Conversations(transport)
        self.chat: Chat[M] = Chat(transport)
        self.events: Events[M] = Events(transport)
        self.auth: Auth[M] = Auth(transport)
        self.users: Users[M] = Users(transport)
        self.groups: Groups[M] = Groups(transport)
        self.keys: Keys[M] = Keys(transport)
        self.tenants: Tenants[M] = Tenants(transport)
        self.end_users: EndUsers[M] = EndUsers(transport)
        self.audit: Audit[M] = Audit(transport)
        self.secrets: Secrets[M] = Secrets(transport)
        self.tenant_settings: TenantSettings[M] = TenantSettings(transport)
        self.webhooks: Webhooks[M] = Webhooks(transport)
        self.analytics: Analytics[M] = Analytics(transport)
        self.adapters: Adapters[M] = Adapters(transport)
        self.recommendations: Recommendations[M] = Recommendations(transport)
        self.intents: Intents[M] = Intents(transport)

    @endpoint("POST", "/v1/search")
    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: Literal["hybrid", "vector", "keyword"] | None = None,
        collection: str | list[str] | None = None,
        filters: Filters | None = None,
        as_user: str | None = None,
        rerank: bool | None = None,
    ) -> Call[SearchResult]:
        """Hybrid (or vector, or keyword) search over what the caller may read; `search_id` ties later click
        events to it."""
        options = given(
            k=k, mode=mode, collection=collection, filters=filters, as_user=as_user, rerank=rerank
        )
        return Call(json={"query": query, **options})

    @endpoint("POST", "/v1/classify")
    def classify(self, text: str, *, model: str | None = None) -> Call[Classification]:
        return Call(json={"text": text, **given(model=model)})

    @endpoint("GET", "/v1/usage")
    def usage(
        self, *, since: str | None = None, until: str | None = None, key_id: str | None = None
    ) -> Call[Usage]:
        return Call(query={"since": since, "until": until, "key_id": key_id})

    @endpoint("GET", "/v1/access/explain")
    def explain_access(self, document_id: str, as_user: str) -> Call[JSONObject]:
        """Whether `as_user` may read the document, and why."""
        return Call(query={"document_id": document_id, "as_user": as_user})

    @endpoint("GET", "/healthz")
    def healthz(self) -> Call[Health]:
        return Call()

    @endpoint("GET", "/readyz")
    def readyz(self) -> Call[JSONObject]:
        return Call()

    @endpoint("GET", "/metrics")
    def metrics(self) -> Call[str]:
        """Prometheus metrics, as text."""
        return Call(expect="text")

    @endpoint("GET", "/v1/metrics/history")
    def metrics_history(self) -> Call[JSONObject]:
        return Call()


def _exchange(api_key: str | None, retries: Retries | None) -> Exchange:
    return Exchange(Credentials(api_key), retries or Retries())


def _client_options(
    base_url: str, timeout: float | httpx.Timeout | None, headers: Mapping[str, str] | None
) -> dict[str, Any]:
    timeouts = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout or DEFAULT_TIMEOUT)
    return {
        "base_url": base_url,
        "timeout": timeouts,
        "headers": {"User-Agent": USER_AGENT, **(headers or {})},
    }


def _challenge(step: Tokens | MfaChallenge) -> MfaChallenge | None:
    return cast(MfaChallenge, step) if step.get("status") == "mfa_required" else None


def _code(challenge: MfaChallenge, mfa_code: MfaCode | None) -> str:
    if mfa_code is None:
        raise MfaRequired(challenge["mfa_token"], challenge["expires_in"])
    return mfa_code() if callable(mfa_code) else mfa_code


class Lore(_Api[Sync]):
    """Lore's HTTP API, one method per route; calls return their results.

        with Lore("http://127.0.0.1:8000", api_key="lore_sk_...") as lore:
            hits = lore.search("reset my password")["hits"]

    `timeout` is seconds (or an `httpx.Timeout`) per request, `DEFAULT_TIMEOUT` if not given; `retries` says how 429, 503 and connection
    failures are retried. `http_client` replaces the `httpx.Client` this makes (its base URL, timeout and
    headers are then its own)."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        retries: Retries | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        client = http_client or httpx.Client(**_client_options(base_url, timeout, headers))
        self._exchange = _exchange(api_key, retries)
        super().__init__(SyncTransport(client, self._exchange))

    def login(
        self, email: str, password: str, *, tenant: str | None = None, mfa_code: MfaCode | None = None
    ) -> Tokens:
        """Sign in as a user; later calls carry its access token, renewed by its refresh token when it
        expires. With MFA on, `mfa_code` (a code, or a function asked for one) finishes the login; without
        it, `MfaRequired` is raised, whose `mfa_token` `login_mfa` takes."""
        step = self.auth.login(email, password, tenant=tenant)
        challenge = _challenge(step)
        if challenge is None:
            return self._signed_in(cast(Tokens, step))
        return self.login_mfa(challenge["mfa_token"], _code(challenge, mfa_code))

    def login_mfa(self, mfa_token: str, code: str) -> Tokens:
        return self._signed_in(self.auth.login_mfa(mfa_token, code))

    def logout(self) -> None:
        """End the login (its tokens stop working) and forget its tokens."""
        credentials = self._exchange.credentials
        if credentials.refresh_token is not None:
            self.auth.logout(credentials.refresh_token)
        credentials.clear()

    def _signed_in(self, tokens: Tokens) -> Tokens:
        self._exchange.credentials.use_login(tokens["access_token"], tokens["refresh_token"])
        return tokens

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Lore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class AsyncLore(_Api[Async]):
    """`Lore` for asyncio: the same methods, to be awaited (lists and streams are iterated with `async for`).

    async with AsyncLore("http://127.0.0.1:8000", api_key="lore_sk_...") as lore:
        hits = (await lore.search("reset my password"))["hits"]
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        retries: Retries | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        client = http_client or httpx.AsyncClient(**_client_options(base_url, timeout, headers))
        self._exchange = _exchange(api_key, retries)
        super().__init__(AsyncTransport(client, self._exchange))

    async def login(
        self, email: str, password: str, *, tenant: str | None = None, mfa_code: MfaCode | None = None
    ) -> Tokens:
        """`Lore.login`, awaited."""
        step = await self.auth.login(email, password, tenant=tenant)
        challenge = _challenge(step)
        if challenge is None:
            return self._signed_in(cast(Tokens, step))
        return await self.login_mfa(challenge["mfa_token"], _code(challenge, mfa_code))

    async def login_mfa(self, mfa_token: str, code: str) -> Tokens:
        return self._signed_in(await self.auth.login_mfa(mfa_token, code))

    async def logout(self) -> None:
        credentials = self._exchange.credentials
        if credentials.refresh_token is not None:
            await self.auth.logout(credentials.refresh_token)
        credentials.clear()

    def _signed_in(self, tokens: Tokens) -> Tokens:
        self._exchange.credentials.use_login(tokens["access_token"], tokens["refresh_token"])
        return tokens

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncLore:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()
