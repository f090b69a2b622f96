"""The answer routes' tests: each module gets its own Lore server whose `openai` provider speaks to a local
OpenAI-protocol model server (scripted per test), and the small help centre of `helpers.ARTICLES`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lore.config import Settings
from tests.answers.servers import LiveServer as ProtocolServer
from tests.answers.servers import Script
from tests.api.answers.helpers import add_articles, with_model_server


@pytest.fixture(scope="module")
def script() -> Script:
    return Script()


@pytest.fixture(scope="module")
def model_server(script: Script) -> Iterator[ProtocolServer]:
    with ProtocolServer(script) as live:
        yield live


@pytest.fixture(scope="module")
def api_settings(api_settings: Settings, model_server: ProtocolServer) -> Settings:
    return with_model_server(api_settings, model_server)


@pytest.fixture(scope="module")
def articles(client: httpx.Client) -> dict[str, str]:
    """source -> document id of every article, added once per module's server."""
    return add_articles(client)
