"""Build the provider chain from settings: every provider Lore knows, tried in the order of
`LORE_LLM_PROVIDERS`; a request may name others of them.

Providers are plug-ins: the built-ins register below, installed distributions add theirs through the
entry-point group `lore.llm_providers` (docs/plugins.md). A factory only configures its provider (no connection,
no model loaded), since the chain builds every one it knows.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from urllib.parse import urlsplit

from lore.answers.anthropic_messages import AnthropicMessages
from lore.answers.chain import ProviderChain
from lore.answers.extractive import Extractive
from lore.answers.local_llama import LocalLlama
from lore.answers.metrics import AnswerMetrics
from lore.answers.openai_chat import OpenAIChat
from lore.answers.provider import Provider, Unconfigured
from lore.answers.retry import RetryPolicy
from lore.config import Settings
from lore.plugins import Registry

llm_providers: Registry[Callable[[Settings], Provider]] = Registry("LLM provider", "lore.llm_providers")


NO_KEY_NEEDED = (
    "a server on this machine or the local network needs none; any other does (any value if it checks none)"
)


@llm_providers.register("openai")
def _openai(settings: Settings) -> Provider:
    if settings.openai.openai_api_key is None and needs_key(settings.openai.openai_base_url):
        why = f"{settings.openai.openai_base_url} needs an API key ({NO_KEY_NEEDED})"
        return Unconfigured("openai", "LORE_OPENAI_API_KEY", why)
    return OpenAIChat(
        base_url=settings.openai.openai_base_url,
        api_key=settings.openai.openai_api_key,
        model=settings.openai.openai_model,
        timeout=settings.openai.openai_timeout,
        max_tokens=settings.answers.llm_max_tokens,
    )


@llm_providers.register("anthropic")
def _anthropic(settings: Settings) -> Provider:
    if settings.anthropic.anthropic_api_key is None and needs_key(settings.anthropic.anthropic_base_url):
        return Unconfigured("anthropic", "LORE_ANTHROPIC_API_KEY", "the Anthropic API needs an API key")
    return AnthropicMessages(
        base_url=settings.anthropic.anthropic_base_url,
        api_key=settings.anthropic.anthropic_api_key,
        model=settings.anthropic.anthropic_model,
        timeout=settings.anthropic.anthropic_timeout,
        max_tokens=settings.answers.llm_max_tokens,
    )


@llm_providers.register("local")
def _local(settings: Settings) -> Provider:
    return LocalLlama(
        model_path=settings.local.local_model_path,
        threads=settings.local.local_threads,
        context_tokens=settings.local.local_context_tokens,
        timeout=settings.local.local_timeout,
        max_tokens=settings.answers.llm_max_tokens,
    )


@llm_providers.register("extractive")
def _extractive(_settings: Settings) -> Provider:
    return Extractive()


def needs_key(base_url: str) -> bool:
    """Whether a server at `base_url` is out on the internet (hosted APIs want a key) rather than on this
    machine or the local network (Ollama, llama.cpp, vLLM in a container: `localhost`, `10.0.0.5`, `vllm`,
    `gpu.local`), which usually need none. Asking without a key would only fail, later and less clearly."""
    host = urlsplit(base_url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host and not host.endswith((".local", ".internal", ".lan", ".localhost"))
    return not (address.is_private or address.is_loopback or address.is_link_local)


def provider_names(value: str) -> list[str]:
    """`openai, extractive` -> ["openai", "extractive"]."""
    return [name.strip() for name in value.split(",") if name.strip()]


def build_chain(settings: Settings, metrics: AnswerMetrics | None = None) -> ProviderChain:
    return ProviderChain(
        {name: factory(settings) for name, factory in llm_providers.items()},
        provider_names(settings.answers.llm_providers),
        policy=RetryPolicy(
            settings.answers.llm_retries,
            settings.answers.llm_retry_backoff,
            settings.answers.llm_max_retry_wait,
        ),
        breaker_failures=settings.answers.llm_breaker_failures,
        breaker_reset_seconds=settings.answers.llm_breaker_reset_seconds,
        metrics=metrics,
    )
