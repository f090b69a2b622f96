"""Rate limits, quotas and usage over HTTP, on memory and on a real Redis: RateLimit-* headers, 429s with
Retry-After, per-key against per-tenant windows, publishable keys per client address, quotas from a tenant's
policy, and usage counted per tenant, key and day (kept across a restart)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from starlette.types import ASGIApp, Receive, Scope, Send

from lore.answers import Usage
from lore.api import create_app
from lore.backends.store.schema import tenants
from lore.config import Settings
from lore.security.principal import Principal
from lore.security.scopes import PUBLISHABLE_SCOPES
from lore.security.scopes import Scope as Permission
from lore.service import Lore
from tests.api.conftest import LiveServer, assert_error

REDIS_URL = "redis://127.0.0.1:6379/14"
PRINCIPAL_HEADER = "x-test-principal"


class Principals:
    """Sets the request's principal from a test header (`kind:tenant:id`), as authentication would."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            named = dict(scope["headers"]).get(PRINCIPAL_HEADER.encode())
            if named:
                kind, tenant, ident = named.decode().split(":")
                scopes = PUBLISHABLE_SCOPES if kind == "publishable" else frozenset(Permission)
                scope.setdefault("state", {})["principal"] = Principal(tenant, kind, ident, scopes)  # type: ignore[arg-type]
        await self.app(scope, receive, send)


def serve(settings: Settings) -> LiveServer:
    live = LiveServer(create_app(settings))
    live.server.config.app = Principals(live.app)
    return live


def as_(kind: str, tenant: str, ident: str) -> dict[str, str]:
    return {PRINCIPAL_HEADER: f"{kind}:{tenant}:{ident}"}


def new_tenant(lore: Lore, policy: dict[str, Any] | None = None) -> str:
    """A tenant of its own for each test, with `policy` as its settings JSON."""
    tenant = f"t{uuid.uuid4().hex[:12]}"
    row = {"id": tenant, "created_at": datetime.now(UTC), "name": tenant, "settings": policy or {}}
    with lore.store.write() as conn:
        conn.execute(sa.insert(tenants).values(row))
    return tenant


def base_settings(tmp_path: Path, model_cache: Path, **values: Any) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        trusted_proxies="127.0.0.1",
        **values,
    )


@pytest.fixture(scope="module", params=["memory", "redis"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model_cache: Path
) -> Iterator[LiveServer]:
    values: dict[str, Any] = {}
    prefix = f"lore-test-{uuid.uuid4().hex}"
    if request.param == "redis":
        values = {"redis_url": REDIS_URL, "rate_limit_prefix": prefix}
    with serve(base_settings(tmp_path_factory.mktemp("limits"), model_cache, **values)) as live:
        live.lore.add_text(title="Refunds", text="Refunds reach your card within five business days.")
        yield live
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def search(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return client.post("/v1/search", json={"query": "refunds", "k": 1}, headers=headers)


def test_a_key_sees_its_window_in_the_headers_and_then_a_429(
    server: LiveServer, client: httpx.Client
) -> None:
    tenant = new_tenant(server.lore, {"rate_limits": {"key": "3/minute"}})
    key = as_("key", tenant, "k1")

    answered = [search(client, key) for _ in range(3)]

    assert [r.status_code for r in answered] == [200, 200, 200]
    assert [r.headers["ratelimit-remaining"] for r in answered] == ["2", "1", "0"]
    assert {r.headers["ratelimit-limit"] for r in answered} == {"3"}
    assert 0 < int(answered[0].headers["ratelimit-reset"]) <= 60
    refused = search(client, key)
    error = assert_error(refused, 429, "rate_limited")
    assert error["details"]["limit"] == "key"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0" and refused.headers["ratelimit-limit"] == "3"
    listed = client.get("/v1/documents", headers=key)  # every route counts, not only searches
    assert_error(listed, 429, "rate_limited")


def test_keys_have_their_own_windows_inside_the_tenants(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"rate_limits": {"key": "2/minute", "tenant": "3/minute"}})
    first, second = as_("key", tenant, "k1"), as_("key", tenant, "k2")

    answered = [search(client, first) for _ in range(3)] + [search(client, second) for _ in range(2)]

    assert [r.status_code for r in answered] == [200, 200, 429, 200, 429]
    assert assert_error(answered[2], 429, "rate_limited")["details"]["limit"] == "key"
    assert assert_error(answered[4], 429, "rate_limited")["details"]["limit"] == "tenant"
    other_tenant = new_tenant(server.lore, {"rate_limits": {"tenant": "3/minute"}})
    assert search(client, as_("key", other_tenant, "k1")).status_code == 200


def test_users_get_the_user_default(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"rate_limits": {"user": "1/minute", "key": None}})
    assert search(client, as_("user", tenant, "u1")).status_code == 200
    assert_error(search(client, as_("user", tenant, "u1")), 429, "rate_limited")
    assert search(client, as_("user", tenant, "u2")).status_code == 200


def test_a_publishable_key_is_limited_per_client_address(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"rate_limits": {"address": "2/minute"}})
    widget = as_("publishable", tenant, "p1")

    def from_(address: str) -> int:
        return search(client, {**widget, "X-Forwarded-For": address}).status_code  # the test is the proxy

    assert [from_("203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert from_("198.51.100.9") == 200  # another visitor of the same page


def test_without_limits_no_ratelimit_headers_are_sent(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore)
    response = search(client, as_("key", tenant, "k1"))
    assert response.status_code == 200 and "ratelimit-limit" not in response.headers
    assert "ratelimit-limit" not in client.get("/healthz").headers


def test_the_requests_quota_of_a_day(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"quotas": {"requests_per_day": 2}})
    key = as_("key", tenant, "k1")
    assert [search(client, key).status_code for _ in range(2)] == [200, 200]
    refused = search(client, key)
    error = assert_error(refused, 429, "quota_exceeded")
    assert error["details"] == {"name": "requests_per_day", "limit": 2, "used": 2}
    assert int(refused.headers["retry-after"]) <= 86_400


def test_the_documents_and_bytes_quotas(server: LiveServer, client: httpx.Client) -> None:
    counted = new_tenant(server.lore, {"quotas": {"documents": 1}})
    key = as_("key", counted, "k1")
    added = client.post("/v1/documents", json={"title": "One", "text": "x"}, headers=key)
    assert added.status_code == 201, added.text
    # (documents are written to the request's tenant once authentication lands; the quota counts the store)
    server.lore.add_text(title="Stored", text="y", tenant_id=counted)
    error = assert_error(
        client.post("/v1/documents", json={"title": "Two", "text": "z"}, headers=key), 429, "quota_exceeded"
    )
    assert error["details"]["name"] == "documents" and error["details"]["limit"] == 1
    ingest = client.post("/v1/ingest", json={"documents": [{"title": "T", "text": "t"}]}, headers=key)
    assert_error(ingest, 429, "quota_exceeded")

    sized = new_tenant(server.lore, {"quotas": {"stored_bytes": 10}})
    server.lore.add_text(title="Big", text="ten bytes!", tenant_id=sized)
    error = assert_error(
        client.post("/v1/documents", json={"title": "More", "text": "x"}, headers=as_("key", sized, "k1")),
        429,
        "quota_exceeded",
    )
    assert error["details"] == {"name": "stored_bytes", "limit": 10, "used": 10}


def test_the_tokens_quota_of_a_day(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"quotas": {"tokens_per_day": 100}})
    key = as_("key", tenant, "k1")
    chat = {"model": "lore", "messages": [{"role": "user", "content": "How long do refunds take?"}]}
    assert client.post("/v1/chat/completions", json=chat, headers=key).status_code == 200
    principal = Principal(tenant, "key", "k1", frozenset())
    server.app.state.throttling.answered(principal, Usage("openai", "gpt", 80, 20, 1.0, 0.1))

    error = assert_error(client.post("/v1/chat/completions", json=chat, headers=key), 429, "quota_exceeded")
    assert error["details"] == {"name": "tokens_per_day", "limit": 100, "used": 100}
    assert search(client, key).status_code == 200  # searches spend no tokens


def test_usage_counts_requests_searches_answers_and_bytes(client: httpx.Client) -> None:
    tenant = "default"
    key, user = as_("key", tenant, "k1"), as_("user", tenant, "u1")
    for _ in range(5):
        search(client, key)
    chat = {"model": "lore", "messages": [{"role": "user", "content": "How long do refunds take?"}]}
    client.post("/v1/chat/completions", json=chat, headers=key).raise_for_status()
    body = {"title": "Counted", "text": "Twelve bytes"}
    client.post("/v1/documents", json=body, headers=user).raise_for_status()
    client.get("/v1/documents/unknown", headers=key)  # a request, but not a success

    report = client.get("/v1/usage", headers=user)

    assert report.status_code == 200, report.text
    usage = report.json()
    by_key = {day["key_id"]: day["metrics"] for day in usage["days"]}
    today = datetime.now(UTC).date().isoformat()
    assert {day["day"] for day in usage["days"]} == {today}
    assert by_key["k1"] == {"requests": 7, "searches": 5, "answers": 1}
    assert by_key[None]["requests"] == 2 and by_key[None]["bytes_ingested"] > len("Twelve bytes")
    assert usage["totals"]["requests"] == 9 and usage["totals"]["searches"] == 5
    only = client.get("/v1/usage", params={"key_id": "k1"}, headers=user).json()
    assert [day["key_id"] for day in only["days"]] == ["k1"]


def test_a_usage_report_range_is_checked(client: httpx.Client) -> None:
    assert_error(
        client.get("/v1/usage", params={"since": "2026-02-01", "until": "2026-01-01"}), 422, "invalid_input"
    )
    assert_error(
        client.get("/v1/usage", params={"since": "2020-01-01", "until": "2026-01-01"}), 422, "invalid_input"
    )
    assert_error(client.get("/v1/usage", params={"since": "yesterday"}), 422, "invalid_request")


def test_usage_is_written_at_shutdown_and_read_after_a_restart(tmp_path: Path, model_cache: Path) -> None:
    settings = base_settings(tmp_path, model_cache, usage_flush_seconds=3600.0)
    with serve(settings) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        live.lore.add_text(title="Refunds", text="Refunds reach your card within five business days.")
        for _ in range(4):
            search(http, as_("key", "default", "k1"))
    with serve(settings) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        report = http.get("/v1/usage", headers=as_("user", "default", "u1")).json()
    metrics = {day["key_id"]: day["metrics"] for day in report["days"]}
    assert metrics["k1"] == {"requests": 4, "searches": 4}
    assert metrics[None] == {"requests": 1}  # the report's own request, written before it was read
