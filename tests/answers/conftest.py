"""Fixtures of the answer tests: passages built as search returns them, and live protocol servers."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable, Iterator

import pytest
from pydantic import SecretStr

from lore.answers.anthropic_messages import AnthropicMessages
from lore.answers.openai_chat import OpenAIChat
from lore.answers.provider import Provider
from lore.models import Chunk, Hit
from tests.answers.servers import LiveServer, Script


@pytest.fixture(autouse=True)
def sdk_connections_closed_here() -> Iterator[None]:
    """The providers these tests build keep their SDK clients' keep-alive connections to the protocol servers
    until they are garbage. Collecting them as each test ends keeps their unclosed-socket warnings here, instead
    of failing whichever later test happens to trigger the collection."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


MakeHit = Callable[..., Hit]


def make_hit(text: str, *, title: str = "Help", heading: tuple[str, ...] = (), chunk_id: int = 1) -> Hit:
    chunk = Chunk(
        id=chunk_id,
        document_id=f"doc-{chunk_id}",
        tenant_id="default",
        collection="default",
        position=0,
        text=text,
        heading_path=list(heading),
        token_count=len(text.split()),
        content_hash=f"hash-{chunk_id}",
        title=title,
        source=f"help/{chunk_id}.md",
        tags=[],
        metadata={},
    )
    return Hit(chunk=chunk, score=1.0 / chunk_id, snippet=text[:80], highlights=[])


@pytest.fixture
def hit() -> MakeHit:
    return make_hit


@pytest.fixture
def refund_passages() -> list[Hit]:
    return [
        make_hit(
            "Refunds go back to the original payment method. Refunds are processed within five business days "
            "of the approval. You can follow the status under Orders.",
            title="Refunds",
            heading=("Billing", "Refunds"),
            chunk_id=1,
        ),
        make_hit(
            "To reset your password, open Settings and choose Security. A reset link arrives by email.",
            title="Passwords",
            heading=("Account",),
            chunk_id=2,
        ),
    ]


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def server(script: Script) -> Iterator[LiveServer]:
    with LiveServer(script) as live:
        yield live


KEY = "sk-test-Zq8e1Secret"
# Seconds a provider waits for a piece of a reply: long enough for a local server's reply on a loaded machine
# (the suite may run under coverage on busy cores), and far short of the server's `HANG`.
TIMEOUT = 10.0
SHORT_TIMEOUT = 1.0  # for the tests of timeouts themselves


def openai_provider(server: LiveServer, timeout: float = TIMEOUT) -> OpenAIChat:
    return OpenAIChat(
        base_url=f"{server.url}/v1",
        api_key=SecretStr(KEY),
        model="test-model",
        timeout=timeout,
        max_tokens=64,
    )


def anthropic_provider(server: LiveServer, timeout: float = TIMEOUT) -> AnthropicMessages:
    return AnthropicMessages(
        base_url=server.url, api_key=SecretStr(KEY), model="test-claude", timeout=timeout, max_tokens=64
    )


@pytest.fixture(params=["openai", "anthropic"])
def model_provider(request: pytest.FixtureRequest, server: LiveServer) -> Provider:
    """Each protocol test runs against both model providers, each on its own protocol server."""
    return openai_provider(server) if request.param == "openai" else anthropic_provider(server)
