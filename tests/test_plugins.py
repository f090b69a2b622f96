"""Plug-ins from outside: the example distribution in tests/plugins/example_plugin, installed into a temporary
folder, is found through its entry points and used through Lore like a built-in."""

from __future__ import annotations

import importlib
import pickle
import shutil
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lore.answers import AnswerRequest, build_chain, llm_providers
from lore.config import Settings
from lore.core.retrieve import SearchRequest
from lore.errors import InvalidInput
from lore.jobs.registry import kind
from lore.models import DEFAULT_TENANT
from lore.registry import create_embedder, create_embedder_for, embedders, token_counter_factory
from lore.service import Lore

PLUGIN = Path(__file__).parent / "plugins" / "example_plugin"
ARTICLES = [
    ("Refunds", "Refunds reach your card within five business days after we receive the parcel."),
    ("Passwords", "To reset a forgotten password, open Settings, choose Security and follow the link."),
    ("Shipping", "Parcels ship from Rotterdam every weekday morning and arrive within two days."),
]


@contextmanager
def installed(target: Path) -> Iterator[None]:
    """The example plug-in installed into `target` as an installer does it (the module, and a dist-info folder
    whose entry_points.txt lists the pyproject's entry points), on `sys.path` until the block ends."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    shutil.copy(PLUGIN / "example_plugin.py", target)
    dist_info = target / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items()) + "\n"
            for group, entries in project["entry-points"].items()
        )
    )
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(target))
        sys.modules.pop("example_plugin", None)
        importlib.invalidate_caches()  # importlib.metadata forgets the folder's distributions


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[None]:
    target = tmp_path / "site-packages"
    target.mkdir()
    with installed(target):
        yield


@pytest.fixture
def settings(plugin: None, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        embedder="example",
        llm_providers="example",
        parse_workers=1,
    )


def test_an_installed_embedder_indexes_and_searches(settings: Settings) -> None:
    with Lore.open(settings) as lore:
        for title, text in ARTICLES:
            lore.add_text(title=title, text=text, source=title)
        hits = lore.search(SearchRequest(DEFAULT_TENANT, "reset a forgotten password", k=1, mode="vector"))
        assert lore.embedder.model_id == "example-hashing@384"
        assert [hit.chunk.title for hit in hits] == ["Passwords"]
        assert create_embedder_for(settings, "example-hashing@384").dim == 384  # found by its model id too


def test_an_installed_token_counter_survives_pickling_for_worker_processes(settings: Settings) -> None:
    counter = pickle.loads(pickle.dumps(token_counter_factory(settings)))()
    assert counter("Parcels ship from Rotterdam") == 4


def test_an_installed_llm_provider_answers_through_the_chain(settings: Settings) -> None:
    with Lore.open(settings) as lore:
        lore.add_text(title="Passwords", text=ARTICLES[1][1], source="Passwords")
        hits = lore.search(SearchRequest(DEFAULT_TENANT, "forgotten password", k=1))
    answer = build_chain(settings).complete(AnswerRequest("How do I reset my password?", hits))
    assert answer.usage.provider == "example"
    assert (
        answer.text
        == "To reset a forgotten password, open Settings, choose Security and follow the link. [1]"
    )
    assert [citation.title for citation in answer.citations] == ["Passwords"]


def test_an_installed_job_kind_is_found_by_kind(settings: Settings) -> None:
    reports: list[tuple[int, int]] = []
    with Lore.open(settings) as lore:
        result = kind("example_count").run(
            lore, {"tenant_id": DEFAULT_TENANT, "texts": ["two words", "three more words"]}, _append(reports)
        )
    assert result == {"words": 5}
    assert reports == [(1, 2), (2, 2)]


def _append(reports: list[tuple[int, int]]) -> Callable[[int, int], None]:
    return lambda done, total: reports.append((done, total))


@pytest.mark.parametrize(
    ("lookup", "message", "known"),
    [
        (
            lambda s: create_embedder(s.updated(embedder="nope")),
            "unknown embedder backend 'nope'",
            {"example", "minilm", "e5"},
        ),
        (
            lambda s: create_embedder_for(s, "nope"),
            "unknown embedding model 'nope'",
            {"example", "example-hashing@384", "minilm"},
        ),
        (
            lambda s: llm_providers.get("nope"),
            "unknown LLM provider 'nope'",
            {"example", "extractive", "openai"},
        ),
        (lambda s: kind("nope"), "unknown job kind 'nope'", {"example_count", "ingest", "reembed"}),
    ],
    ids=["embedder", "embedding-model", "llm-provider", "job-kind"],
)
def test_an_unknown_name_lists_the_known_ones_installed_included(
    settings: Settings, lookup: Callable[[Settings], object], message: str, known: set[str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        lookup(settings)
    assert caught.value.message == message
    assert known <= set(caught.value.details["known"])


def test_an_uninstalled_plugin_is_forgotten(tmp_path: Path) -> None:
    with installed(tmp_path):
        assert "example" in embedders
        assert "example" in llm_providers
    assert "example" not in embedders
    assert "example" not in llm_providers
    assert "example_plugin" not in sys.modules
