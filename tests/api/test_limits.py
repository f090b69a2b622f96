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

from lore.answers import Usage
from lore.api import create_app
from lore.config import Settings
from lore.security.principal import Principal
from lore.security.scopes import PUBLISHABLE_SCOPES, ROLE_SCOPES
from lore.service import Lore
from tests.api.conftest import LiveServer, assert_error
from tests.keys import bearer, mint_key

REDIS_URL = "redis://127.0.0.1:6379/14"
USER_TOKEN = "test-user"  # `test-user:<tenant>:<id>`: a user's access token, as a credential check reads it


def user_token(request_token: str, _request: object) -> Principal | None:
    """The app's credential check for users in these tests (access tokens plug in the same way)."""
    kind, _, rest = request_token.partition(":")
    if kind != USER_TOKEN:
        return None
    tenant, ident = rest.split(":")
    return Principal(tenant, "user", ident, ROLE_SCOPES["admin"], role="admin")


def serve(settings: Settings) -> LiveServer:
    live = LiveServer(create_app(settings))
    live.app.state.credential_checks.append(user_token)
    return live


def new_tenant(lore: Lore, policy: dict[str, Any] | None = None) -> str:
    """A tenant of its own for each test, with `policy` as its settings JSON."""
    tenant = f"t{uuid.uuid4().hex[:12]}"
    lore.store.tenants.create(tenant)
    lore.store.tenants.set_settings(tenant, policy or {})
    return tenant


def key(lore: Lore, tenant: str, **spec: Any) -> dict[str, str]:
    return bearer(mint_key(lore.store, tenant, **spec))


def user(tenant: str, ident: str) -> dict[str, str]:
    return bearer(f"{USER_TOKEN}:{tenant}:{ident}")


def widget(lore: Lore, tenant: str) -> dict[str, str]:
    """A publishable key, as a help-centre page embeds it."""
    token = mint_key(
        lore.store, tenant, PUBLISHABLE_SCOPES, kind="publishable", collections=frozenset({"default"})
    )
    return bearer(token)


def key_id(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")[8:20]


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
    tenant = new_tenant(server.lore, {"rate_limits": {"key": "100/minute"}})
    limited = key(server.lore, tenant, rate_limit="3/minute")  # its own limit wins over the tenant's default

    answered = [search(client, limited) for _ in range(3)]

    assert [r.status_code for r in answered] == [200, 200, 200]
    assert [r.headers["ratelimit-remaining"] for r in answered] == ["2", "1", "0"]
    assert {r.headers["ratelimit-limit"] for r in answered} == {"3"}
    assert 0 < int(answered[0].headers["ratelimit-reset"]) <= 60
    refused = search(client, limited)
    error = assert_error(refused, 429, "rate_limited")
    assert error["details"]["limit"] == "key"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0" and refused.headers["ratelimit-limit"] == "3"
    listed = client.get("/v1/documents", headers=limited)  # every route counts, not only searches
    assert_error(listed, 429, "rate_limited")
    assert search(client, key(server.lore, tenant)).headers["ratelimit-limit"] == "100"


def test_keys_have_their_own_windows_inside_the_tenants(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"rate_limits": {"key": "2/minute", "tenant": "3/minute"}})
    first, second = key(server.lore, tenant), key(server.lore, tenant)

    answered = [search(client, first) for _ in range(3)] + [search(client, second) for _ in range(2)]

    assert [r.status_code for r in answered] == [200, 200, 429, 200, 429]
    assert assert_error(answered[2], 429, "rate_limited")["details"]["limit"] == "key"
    assert assert_error(answered[4], 429, "rate_limited")["details"]["limit"] == "tenant"
    other_tenant = new_tenant(server.lore, {"rate_limits": {"tenant": "3/minute"}})
    assert search(client, key(server.lore, other_tenant)).status_code == 200


def test_users_get_the_user_default(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"rate_limits": {"user": "1/minute", "key": "1/second"}})
    assert search(client, user(tenant, "u1")).status_code == 200
    assert_error(search(client, user(tenant, "u1")), 429, "rate_limited")
    assert search(client, user(tenant, "u2")).status_code == 200


def test_a_publishable_key_is_limited_per_client_address(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"rate_limits": {"address": "2/minute"}})
    page = widget(server.lore, tenant)

    def from_(address: str) -> int:
        return search(client, {**page, "X-Forwarded-For": address}).status_code  # the test is the proxy

    assert [from_("203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert from_("198.51.100.9") == 200  # another visitor of the same page
    assert_error(search(client, {**page, "X-Forwarded-For": "203.0.113.7"}), 429, "rate_limited")


def test_publishable_keys_are_limited_by_default(server: LiveServer, client: httpx.Client) -> None:
    response = search(client, widget(server.lore, new_tenant(server.lore)))
    assert response.status_code == 200 and response.headers["ratelimit-limit"] == "60"  # 60/minute


def test_without_limits_no_ratelimit_headers_are_sent(server: LiveServer, client: httpx.Client) -> None:
    response = search(client, key(server.lore, new_tenant(server.lore)))
    assert response.status_code == 200 and "ratelimit-limit" not in response.headers
    assert "ratelimit-limit" not in client.get("/healthz").headers


def test_the_requests_quota_of_a_day(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"quotas": {"requests_per_day": 2}})
    caller = key(server.lore, tenant)
    assert [search(client, caller).status_code for _ in range(2)] == [200, 200]
    refused = search(client, key(server.lore, tenant))  # the tenant's quota: any of its keys
    error = assert_error(refused, 429, "quota_exceeded")
    assert error["details"] == {"name": "requests_per_day", "limit": 2, "used": 2}
    assert int(refused.headers["retry-after"]) <= 86_400


def test_the_documents_quota(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"quotas": {"documents": 2}})
    writer = key(server.lore, tenant)
    for n in range(2):
        added = client.post("/v1/documents", json={"title": f"Doc {n}", "text": "x"}, headers=writer)
        assert added.status_code == 201, added.text

    refused = client.post("/v1/documents", json={"title": "Three", "text": "z"}, headers=writer)
    error = assert_error(refused, 429, "quota_exceeded")
    assert error["details"] == {"name": "documents", "limit": 2, "used": 2}
    ingest = client.post("/v1/ingest", json={"documents": [{"title": "T", "text": "t"}]}, headers=writer)
    assert_error(ingest, 429, "quota_exceeded")
    assert client.get("/v1/documents", headers=writer).status_code == 200  # reading is not adding


def test_the_stored_bytes_quota(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"quotas": {"stored_bytes": 10}})
    server.lore.add_text(title="Big", text="ten bytes!", tenant_id=tenant)
    refused = client.post(
        "/v1/documents", json={"title": "More", "text": "x"}, headers=key(server.lore, tenant)
    )
    error = assert_error(refused, 429, "quota_exceeded")
    assert error["details"] == {"name": "stored_bytes", "limit": 10, "used": 10}


def test_the_tokens_quota_of_a_day(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore, {"quotas": {"tokens_per_day": 100}})
    caller = key(server.lore, tenant)
    chat = {"model": "lore", "messages": [{"role": "user", "content": "How long do refunds take?"}]}
    assert client.post("/v1/chat/completions", json=chat, headers=caller).status_code == 200  # under quota
    principal = Principal(tenant, "key", key_id(caller), frozenset())
    server.app.state.throttling.answered(principal, Usage("openai", "gpt", 80, 20, 1.0, 0.1))

    error = assert_error(
        client.post("/v1/chat/completions", json=chat, headers=caller), 429, "quota_exceeded"
    )
    details = error["details"]
    assert (details["name"], details["limit"]) == ("tokens_per_day", 100)
    assert details["used"] > 100  # the 100 counted here and the first answer's own tokens
    assert search(client, caller).status_code == 200  # searches spend no tokens


def test_usage_counts_requests_searches_answers_and_bytes(server: LiveServer, client: httpx.Client) -> None:
    tenant = new_tenant(server.lore)
    caller, admin = key(server.lore, tenant), user(tenant, "u1")
    for _ in range(5):
        search(client, caller)
    chat = {"model": "lore", "messages": [{"role": "user", "content": "How long do refunds take?"}]}
    client.post("/v1/chat/completions", json=chat, headers=caller).raise_for_status()
    body = {"title": "Counted", "text": "Twelve bytes"}
    client.post("/v1/documents", json=body, headers=admin).raise_for_status()
    client.get("/v1/documents/unknown", headers=caller)  # a request, but not a success

    report = client.get("/v1/usage", headers=admin)

    assert report.status_code == 200, report.text
    usage = report.json()
    assert usage["tenant_id"] == tenant
    by_key = {day["key_id"]: day["metrics"] for day in usage["days"]}
    today = datetime.now(UTC).date().isoformat()
    assert {day["day"] for day in usage["days"]} == {today}
    counted = by_key[key_id(caller)]
    assert {name: n for name, n in counted.items() if not name.startswith("tokens_")} == {
        "requests": 7,
        "searches": 5,
        "answers": 1,
    }
    assert counted["tokens_in:extractive"] > 0 and counted["tokens_out:extractive"] > 0  # the answer's tokens
    assert by_key[None]["requests"] == 2 and by_key[None]["bytes_ingested"] > len("Twelve bytes")
    assert usage["totals"]["requests"] == 9 and usage["totals"]["searches"] == 5
    only = client.get("/v1/usage", params={"key_id": key_id(caller)}, headers=admin).json()
    assert [day["key_id"] for day in only["days"]] == [key_id(caller)]
    other = client.get("/v1/usage", headers=user(new_tenant(server.lore), "u1")).json()
    assert other["days"] == [] or all(day["key_id"] is None for day in other["days"])  # not this tenant's


def test_usage_needs_the_admin_scope(server: LiveServer, client: httpx.Client) -> None:
    viewer = key(server.lore, new_tenant(server.lore), scopes=ROLE_SCOPES["viewer"])
    assert_error(client.get("/v1/usage", headers=viewer), 403, "forbidden")


def test_a_usage_report_range_is_checked(server: LiveServer, client: httpx.Client) -> None:
    admin = user(new_tenant(server.lore), "u1")
    backwards = {"since": "2026-02-01", "until": "2026-01-01"}
    assert_error(client.get("/v1/usage", params=backwards, headers=admin), 422, "invalid_input")
    too_long = {"since": "2020-01-01", "until": "2026-01-01"}
    assert_error(client.get("/v1/usage", params=too_long, headers=admin), 422, "invalid_input")
    assert_error(
        client.get("/v1/usage", params={"since": "yesterday"}, headers=admin), 422, "invalid_request"
    )


def test_usage_is_written_at_shutdown_and_read_after_a_restart(tmp_path: Path, model_cache: Path) -> None:
    settings = base_settings(tmp_path, model_cache, usage_flush_seconds=3600.0)
    with serve(settings) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        caller = key(live.lore, "default")
        for _ in range(4):
            search(http, caller)
    with serve(settings) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        report = http.get("/v1/usage", headers=user("default", "u1")).json()
    metrics = {day["key_id"]: day["metrics"] for day in report["days"]}
    assert metrics[key_id(caller)] == {"requests": 4, "searches": 4}
    assert metrics[None] == {"requests": 1}  # the report's own request, written before it was read
