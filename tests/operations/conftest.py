"""An API server whose answers come from a local OpenAI-compatible server, and the log output of a test,
captured through Lore's own formatter as JSON lines."""

from __future__ import annotations

import gc
import io
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lore.api import create_app
from lore.config import Settings
from lore.logs import QUIET, formatter
from tests.answers.servers import LiveServer as ModelServer
from tests.answers.servers import Script
from tests.api.conftest import LiveServer

MODEL_KEY = "sk-model-Vr7yPq2Secret"


class Captured:
    """What the loggers wrote while capturing, as `lore serve` would write it to a pipe."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self, **fields: Any) -> list[dict[str, Any]]:
        """The JSON lines whose fields include `fields`."""
        parsed = [json.loads(line) for line in self.text.splitlines()]
        return [line for line in parsed if all(line.get(k) == v for k, v in fields.items())]


@contextmanager
def capturing(level: int = logging.INFO) -> Iterator[Captured]:
    captured = Captured()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(formatter("json"))
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in QUIET)]
    before = [logger.level for logger in loggers]
    loggers[0].addHandler(handler)
    loggers[0].setLevel(level)
    for name, quiet in QUIET.items():  # as `lore serve` holds them
        logging.getLogger(name).setLevel(quiet)
    try:
        yield captured
    finally:
        loggers[0].removeHandler(handler)
        for logger, old in zip(loggers, before, strict=True):
            logger.setLevel(old)


@pytest.fixture(scope="module")
def script() -> Script:
    return Script()


@pytest.fixture(scope="module")
def model_server(script: Script) -> Iterator[ModelServer]:
    with ModelServer(script) as live:
        yield live


def answering_settings(data_dir: Path, model_cache: Path, model_server: ModelServer, **more: Any) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        llm_providers="openai",
        llm_retries=0,
        openai_base_url=f"{model_server.url}/v1",
        openai_api_key=MODEL_KEY,
        openai_model="test-model",
        **more,
    )


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path, model_server: ModelServer
) -> Iterator[LiveServer]:
    settings = answering_settings(tmp_path_factory.mktemp("operations"), model_cache, model_server)
    with LiveServer(create_app(settings)) as live:
        yield live
    sdk_connections_collected()


def sdk_connections_collected() -> None:
    """The provider's SDK client keeps its keep-alive connections to the model server until it is garbage:
    collected here, their unclosed-socket warnings stay here instead of failing a later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
