"""Provider keys never show: not in settings' text, reprs, errors, their tracebacks, or logs at DEBUG."""

import logging
import traceback

import pytest
from pydantic import SecretStr

from lore.answers.build import build_chain
from lore.answers.errors import NoProviderAnswered, ProviderFailed
from lore.answers.types import AnswerRequest
from lore.config import Settings
from tests.answers.conftest import KEY
from tests.answers.servers import LiveServer, Reply, Script


def settings_for(server: LiveServer, providers: str) -> Settings:
    return Settings(
        _env_file=None,
        llm_providers=providers,
        llm_retries=0,
        openai_base_url=f"{server.url}/v1",
        openai_api_key=SecretStr(KEY),
        openai_model="test-model",
        anthropic_base_url=server.url,
        anthropic_api_key=SecretStr(KEY),
        anthropic_model="test-claude",
    )


def test_settings_read_keys_from_the_environment_and_hide_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LORE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("LORE_ANTHROPIC_API_KEY", KEY)
    settings = Settings(_env_file=None)
    assert settings.openai.openai_api_key is not None
    assert settings.openai.openai_api_key.get_secret_value() == KEY
    for text in (repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())):
        assert KEY not in text


def test_providers_and_chains_do_not_show_keys(server: LiveServer) -> None:
    chain = build_chain(settings_for(server, "openai,anthropic,extractive"))
    shown = [repr(p) for p in chain.providers.values()] + [repr(chain), str(vars(chain))]
    assert all(KEY not in text for text in shown)
    assert server.url in repr(chain.providers["openai"])


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("status", [401, 503])
def test_errors_and_logs_do_not_show_keys(
    provider: str, status: int, server: LiveServer, script: Script, caplog: pytest.LogCaptureFixture
) -> None:
    script.default = Reply(status=status)  # the server's error body quotes the key
    chain = build_chain(settings_for(server, provider))
    caplog.set_level(logging.DEBUG)
    with pytest.raises((ProviderFailed, NoProviderAnswered)) as caught:
        chain.complete(AnswerRequest("q?", []))
    assert script.requests  # the key did travel to the server
    rendered = "".join(traceback.format_exception(caught.value))
    for text in (str(caught.value), repr(caught.value), str(caught.value.details), rendered, caplog.text):
        assert KEY not in text
    assert caplog.records  # the clients do log at DEBUG: the check above is not vacuous
