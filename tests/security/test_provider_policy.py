"""Which provider answers, through the real HTTP server and local servers speaking the OpenAI and Anthropic
protocols: only what the tenant allows of the server's chain, another provider only with the tenant's own key,
and a refused key flagged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from lore.api import create_app
from lore.backends.store.database import Database
from lore.config import Settings
from lore.security.scopes import ROLE_SCOPES, RoleName
from tests.answers.servers import LiveServer as ProtocolServer
from tests.answers.servers import Reply, Script
from tests.api.conftest import LiveServer, assert_error
from tests.keys import bearer, mint_key

SERVER_OPENAI_KEY = "sk-server-openai-0123456789abcdef"
SERVER_ANTHROPIC_KEY = "sk-server-anthropic-0123456789ab"
ACME_OPENAI_KEY = "sk-acme-openai-key-0123456789abcd"
REFUND = "# Refunds\n\nA refund takes five business days to reach your card."


@pytest.fixture(scope="module")
def script() -> Script:
    return Script()


@pytest.fixture(scope="module")
def model_server(script: Script) -> Iterator[ProtocolServer]:
    with ProtocolServer(script) as live:
        yield live


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path, model_server: ProtocolServer
) -> Iterator[LiveServer]:
    """The operator configured `extractive` and then `anthropic`, and holds an OpenAI key it did not configure."""
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("policy"),
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        llm_providers="extractive,anthropic",
        llm_retries=0,
        llm_breaker_failures=1000,
        openai_base_url=f"{model_server.url}/v1",
        openai_api_key=SecretStr(SERVER_OPENAI_KEY),
        openai_model="test-model",
        anthropic_base_url=model_server.url,
        anthropic_api_key=SecretStr(SERVER_ANTHROPIC_KEY),
        anthropic_model="test-claude",
    )
    with LiveServer(create_app(settings)) as live:
        live.lore.store.tenants.create("acme")
        yield live


@pytest.fixture(scope="module")
def store(server: LiveServer) -> Database:
    return server.lore.store


def client_for(server: LiveServer, tenant: str, role: RoleName) -> httpx.Client:
    token = mint_key(server.lore.store, tenant, ROLE_SCOPES[role])
    return httpx.Client(base_url=server.url, headers=bearer(token), timeout=60)


@pytest.fixture(scope="module")
def default_owner(server: LiveServer) -> Iterator[httpx.Client]:
    with client_for(server, "default", "owner") as client:
        assert (
            client.post("/v1/documents", json={"title": "", "text": REFUND, "source": "r.md"}).status_code
            == 201
        )
        yield client


@pytest.fixture(scope="module")
def acme_owner(server: LiveServer) -> Iterator[httpx.Client]:
    with client_for(server, "acme", "owner") as client:
        assert (
            client.post("/v1/documents", json={"title": "", "text": REFUND, "source": "r.md"}).status_code
            == 201
        )
        yield client


def ask(client: httpx.Client, provider: str | None = None) -> httpx.Response:
    conversation = client.post("/v1/conversations").json()["id"]
    body: dict[str, Any] = {"content": "How long does a refund take?"}
    if provider is not None:
        body["provider"] = provider
    return client.post(f"/v1/conversations/{conversation}/messages", json=body)


def allow(client: httpx.Client, *providers: str) -> None:
    response = client.patch("/v1/tenant/settings", json={"allowed_providers": list(providers) or None})
    assert response.status_code == 200, response.text


def model_ids(*providers: str) -> set[str]:
    """What /v1/models lists for a tenant allowed these providers: each answer style, alone and per provider."""
    return {
        f"{style}{suffix}"
        for style in ("lore", "lore+sources")
        for suffix in ("", *(f"/{p}" for p in providers))
    }


def keys_sent(script: Script, since: int) -> list[str]:
    """Which of the known keys each model request since `since` carried (in whichever header its protocol
    uses)."""
    known = (SERVER_OPENAI_KEY, SERVER_ANTHROPIC_KEY, ACME_OPENAI_KEY)
    return [
        next(key for key in known if key in " ".join(request["headers"].values()))
        for request in script.requests[since:]
    ]


def audit_actions(client: httpx.Client) -> list[tuple[str, str | None]]:
    items = client.get("/v1/audit", params={"limit": 500}).json()["items"]
    return [(item["action"], item["target"]) for item in items if item["action"].startswith("provider_key.")]


def test_a_provider_the_operator_did_not_configure_is_refused_without_calling_it(
    default_owner: httpx.Client, script: Script
) -> None:
    before = len(script.requests)
    for provider in ("openai", "extractive,openai", "local"):
        error = assert_error(ask(default_owner, provider), 403, "provider_not_allowed")
        assert error["details"]["allowed"] == ["extractive", "anthropic"]
        assert "extractive" not in error["details"]["providers"]
    chat = {"model": "lore/openai", "messages": [{"role": "user", "content": "Refund?"}]}
    assert_error(default_owner.post("/v1/chat/completions", json=chat), 403, "provider_not_allowed")
    assert len(script.requests) == before  # no model server was asked: no key was spent
    assert ask(default_owner).json()["usage"]["provider"] == "extractive"  # the configured chain
    answer = ask(default_owner, "anthropic")
    assert answer.status_code == 201 and answer.json()["usage"]["provider"] == "anthropic"
    assert keys_sent(script, before) == [SERVER_ANTHROPIC_KEY]
    models = {model["id"] for model in default_owner.get("/v1/models").json()["data"]}
    assert models == model_ids("anthropic", "extractive")
    assert_error(ask(default_owner, "oracle"), 422, "invalid_input")  # unknown is still a bad request


def test_an_owner_cannot_allow_the_servers_key_for_a_provider_the_operator_did_not_configure(
    acme_owner: httpx.Client, script: Script
) -> None:
    allow(acme_owner, "extractive", "openai")
    try:
        before = len(script.requests)
        error = assert_error(ask(acme_owner, "openai"), 403, "provider_not_allowed")
        assert error["details"]["allowed"] == ["extractive"]
        assert ask(acme_owner).json()["usage"]["provider"] == "extractive"
        allow(acme_owner, "openai")
        error = assert_error(ask(acme_owner), 403, "provider_not_allowed")
        assert error["details"]["allowed"] == []
        assert len(script.requests) == before
    finally:
        allow(acme_owner)


def test_an_owner_narrows_the_providers_for_their_tenant_only(
    default_owner: httpx.Client, acme_owner: httpx.Client, script: Script
) -> None:
    allow(acme_owner, "anthropic")
    try:
        before = len(script.requests)
        answer = ask(acme_owner)  # names none: the configured chain narrowed to what acme allows
        assert answer.status_code == 201 and answer.json()["usage"]["provider"] == "anthropic"
        assert keys_sent(script, before) == [SERVER_ANTHROPIC_KEY]
        error = assert_error(ask(acme_owner, "extractive"), 403, "provider_not_allowed")
        assert error["details"] == {"providers": ["extractive"], "allowed": ["anthropic"]}
        assert ask(default_owner, "extractive").status_code == 201  # another tenant keeps the default
    finally:
        allow(acme_owner)
    assert ask(acme_owner).json()["usage"]["provider"] == "extractive"  # back to the default


def test_a_tenants_own_key_answers_its_questions_and_is_marked_used(
    default_owner: httpx.Client, acme_owner: httpx.Client, script: Script
) -> None:
    allow(acme_owner, "openai", "anthropic")
    allow(default_owner, "openai", "anthropic")
    try:
        put = acme_owner.put("/v1/secrets/openai_api_key", json={"value": ACME_OPENAI_KEY})
        assert put.status_code == 200 and ACME_OPENAI_KEY not in put.text
        assert put.json()["last_used_at"] is None
        before = len(script.requests)
        assert ask(acme_owner, "openai").status_code == 201
        assert ask(acme_owner, "anthropic").status_code == 201  # its other provider: the server's key
        assert keys_sent(script, before) == [ACME_OPENAI_KEY, SERVER_ANTHROPIC_KEY]
        assert_error(ask(default_owner, "openai"), 403, "provider_not_allowed")  # no key of its own
        models = {model["id"] for model in acme_owner.get("/v1/models").json()["data"]}
        assert models == model_ids("anthropic", "openai")
        (listed,) = acme_owner.get("/v1/secrets").json()["items"]
        assert listed["name"] == "openai_api_key" and listed["masked"] == "sk-…abcd"
        assert listed["last_used_at"] is not None and listed["failing_since"] is None
        assert ACME_OPENAI_KEY not in acme_owner.get("/v1/secrets").text
        assert default_owner.get("/v1/secrets").json()["items"] == []  # another tenant's secrets stay its own
    finally:
        acme_owner.delete("/v1/secrets/openai_api_key")
        allow(acme_owner)
        allow(default_owner)


def test_a_refused_tenant_key_is_flagged_in_readyz_and_the_audit_log_once(
    acme_owner: httpx.Client, server: LiveServer, script: Script
) -> None:
    allow(acme_owner, "openai")
    acme_owner.put("/v1/secrets/openai_api_key", json={"value": ACME_OPENAI_KEY})
    try:
        script.then(Reply(status=401), Reply(status=403))
        for _ in range(2):
            error = assert_error(ask(acme_owner), 502, "provider_error")
            assert error["details"]["status"] in (401, 403) and ACME_OPENAI_KEY not in str(error)
        (listed,) = acme_owner.get("/v1/secrets").json()["items"]
        assert listed["failing_since"] is not None
        ready = httpx.get(f"{server.url}/readyz").json()["providers"]
        assert (ready["failing_tenant_keys"], ready["failing_server_keys"]) == (1, [])
        assert audit_actions(acme_owner) == [("provider_key.failing", "openai_api_key")]
        assert ask(acme_owner).status_code == 201  # the provider takes the key again
        (listed,) = acme_owner.get("/v1/secrets").json()["items"]
        assert listed["failing_since"] is None
        assert httpx.get(f"{server.url}/readyz").json()["providers"]["failing_tenant_keys"] == 0
        assert audit_actions(acme_owner)[0] == ("provider_key.recovered", "openai_api_key")
    finally:
        acme_owner.delete("/v1/secrets/openai_api_key")
        allow(acme_owner)


def test_a_refused_server_key_is_named_in_readyz(
    default_owner: httpx.Client, server: LiveServer, script: Script
) -> None:
    allow(default_owner, "anthropic", "extractive")
    try:
        script.then(Reply(status=401))
        assert_error(ask(default_owner, "anthropic"), 502, "provider_error")
        ready = httpx.get(f"{server.url}/readyz").json()["providers"]
        assert ready["failing_server_keys"] == ["anthropic"] and ready["status"] == "ok"  # extractive answers
        assert audit_actions(default_owner)[0] == ("provider_key.failing", "server:anthropic_api_key")
        assert ask(default_owner, "anthropic").status_code == 201
        assert httpx.get(f"{server.url}/readyz").json()["providers"]["failing_server_keys"] == []
    finally:
        allow(default_owner)
