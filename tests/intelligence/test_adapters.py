"""Query adapters in the service, on SQLite and PostgreSQL: trained from labelled pairs or clicks, activated
only when held-out searches gained, applied to searches at once (past the result cache), rolled back, and
scoped to their tenant and collection."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from lore.backends.store.trained_models import TrainedModel
from lore.config import Settings
from lore.core.retrieve import SearchRequest
from lore.errors import Conflict, InvalidInput, NotFound
from lore.intelligence.adapter_model import KIND, encode
from lore.intelligence.adapter_pairs import Pair, data_hash, pairs_from_events, read_pairs
from lore.intelligence.adapter_versions import AdapterVersions
from lore.intelligence.adapters import document_lookup, train_adapter
from lore.models import SearchMode
from lore.service import Lore
from lore.service.query_adapters import QueryAdapters
from tests.intelligence import jargon
from tests.intelligence.events import event
from tests.pgserver import PostgresServer

PROBES = [f"trouble using {code} since yesterday" for code in jargon.TOPICS]  # wording no pair has


@dataclass
class World:
    lore: Lore
    help: dict[str, str]  # code -> document id, default tenant, collection "help"
    other: dict[str, str]  # the same topics in collection "other"
    acme: dict[str, str]  # the same topics in tenant acme's "help"
    trained: TrainedModel  # default/help, from a pairs file


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model_cache: Path
) -> Iterator[World]:
    postgres: PostgresServer | None = (
        request.getfixturevalue("postgres") if request.param == "postgres" else None
    )
    url = postgres.create_database() if postgres else None
    directory = tmp_path_factory.mktemp("adapters")
    settings = Settings(
        _env_file=None,
        data_dir=directory / "data",
        database_url=url,
        model_cache_dir=model_cache,
        embed_threads=1,
    )
    try:
        with Lore.open(settings) as lore:
            lore.store.tenants.create("acme")
            ids = jargon.load(lore)
            other, acme = jargon.load(lore, collection="other"), jargon.load(lore, "acme")
            pairs_file = directory / "pairs.tsv"
            pairs_file.write_text("".join(f"{q}\tkb:{code}\n" for q, code in jargon.queries()))
            pairs = read_pairs(pairs_file, document_lookup(lore, "default", "help"))
            assert pairs == jargon.pairs(ids)
            world = World(lore, ids, other, acme, train_adapter(lore, "default", "help", pairs))
            yield world
    finally:
        if postgres and url:
            postgres.drop_database(url)


@pytest.fixture(autouse=True)
def no_adapter_after(world: World) -> Iterator[None]:
    yield
    for tenant, collection in (("default", "help"), ("default", "other"), ("acme", "help")):
        if world.lore.store.trained_models.active(tenant, KIND, collection):
            world.lore.store.trained_models.deactivate(tenant, KIND, collection)
        world.lore.adapters.forget(tenant, collection)


def tops(
    lore: Lore, tenant: str = "default", collections: list[str] | None = None, mode: SearchMode = "vector"
) -> list[str]:
    """The best hit's document of each probe (through `Lore.search`, so through its result cache)."""
    collections = collections or ["help"]
    return [
        lore.search(SearchRequest(tenant, probe, 1, mode, collections))[0].chunk.document_id
        for probe in PROBES
    ]


def right(found: list[str], documents: dict[str, str]) -> int:
    return sum(doc == documents[code] for doc, code in zip(found, jargon.TOPICS, strict=True))


def test_training_from_labelled_pairs_gains_on_held_out_queries(world: World) -> None:
    model = world.trained
    assert (model.kind, model.name, model.status, model.version) == (KIND, "help", "candidate", 1)
    assert model.embedder == world.lore.models.serving("default", "help").active
    assert model.data_hash == data_hash(jargon.pairs(world.help))
    assert model.metrics["held_out_queries"] == model.metrics["queries"]["held_out"] > 0
    assert model.metrics["vector"]["gain"] > 0.2
    assert model.metrics["hybrid"]["gain"] >= 0


def test_the_adapter_moves_rankings_to_the_trained_documents_at_once_and_rollback_restores_them(
    world: World,
) -> None:
    lore = world.lore
    before = {mode: tops(lore, mode=mode) for mode in ("vector", "hybrid")}
    assert tops(lore) == before["vector"]  # now from the result cache
    assert right(before["vector"], world.help) <= 4
    active = AdapterVersions.of(lore).activate("default", "help")
    assert active.status == "active" and AdapterVersions.of(lore).show("default", "help").id == active.id
    adapted = tops(lore)
    assert right(adapted, world.help) >= 10
    assert right(tops(lore, mode="hybrid"), world.help) >= right(before["hybrid"], world.help)
    assert AdapterVersions.of(lore).rollback("default", "help") is None
    assert tops(lore) == before["vector"] and tops(lore, mode="hybrid") == before["hybrid"]
    with pytest.raises(Conflict, match="no active adapter"):
        AdapterVersions.of(lore).rollback("default", "help")


def test_rollback_returns_to_the_version_active_before(world: World) -> None:
    lore = world.lore
    AdapterVersions.of(lore).activate("default", "help", world.trained.version)
    adapted = tops(lore)
    identity = encode(np.eye(lore.embedder.dim, dtype=np.float32))
    plain = lore.store.trained_models.save(
        "default", KIND, "help", identity, data_hash="identity", embedder=world.trained.embedder
    )
    AdapterVersions.of(lore).activate(
        "default", "help", plain.version, force=True
    )  # no metrics: only when forced
    assert right(tops(lore), world.help) <= 4
    restored = AdapterVersions.of(lore).rollback("default", "help")
    assert restored is not None and restored.id == world.trained.id
    assert tops(lore) == adapted


def test_activation_is_refused_without_an_offline_gain(world: World) -> None:
    lore = world.lore
    # pairs that the current retrieval already answers: nothing left to gain
    current = [
        Pair(
            query,
            document_id=lore.search(SearchRequest("default", query, 1, "vector", ["help"]))[
                0
            ].chunk.document_id,
        )
        for query, _ in jargon.queries()
    ]
    model = train_adapter(lore, "default", "help", current, activate=True)
    assert model.status == "candidate" and model.metrics["vector"]["gain"] <= 0
    with pytest.raises(Conflict) as refused:
        AdapterVersions.of(lore).activate("default", "help", model.version)
    assert refused.value.details["version"] == model.version
    assert AdapterVersions.of(lore).activate("default", "help", model.version, force=True).status == "active"
    with pytest.raises(NotFound):
        AdapterVersions.of(lore).activate("default", "help", 999)


def test_training_from_click_events(world: World) -> None:
    lore = world.lore
    events = []
    for number, (query, code) in enumerate(jargon.queries()):
        search_id = f"s-{number}"
        events.append(event("search", search_id=search_id, query=query))
        events.append(event("click", search_id=search_id, document_id=world.help[code], rank=3))
    lore.store.events.append(events)
    pairs = pairs_from_events(lore.store.events, "default")
    assert len(pairs) == len(jargon.queries())
    model = train_adapter(lore, "default", "help", pairs, activate=True)
    assert model.status == "active" and model.metrics["vector"]["gain"] > 0.2
    assert right(tops(lore), world.help) >= 10
    # the same clicks name no document of "other": nothing to learn there
    with pytest.raises(InvalidInput, match="at least 10 distinct queries"):
        train_adapter(lore, "default", "other", pairs)


def test_an_adapter_serves_only_its_tenant_and_collection(world: World) -> None:
    lore = world.lore
    plain = {"help": tops(lore), "other": tops(lore, collections=["other"]), "acme": tops(lore, "acme")}
    payload = lore.store.trained_models.payload("default", world.trained.id)
    theirs = lore.store.trained_models.save(
        "acme", KIND, "help", payload, data_hash="copy", embedder=world.trained.embedder
    )
    AdapterVersions.of(lore).activate("acme", "help", theirs.version, force=True)
    assert right(tops(lore, "acme"), world.acme) >= 10
    assert tops(lore) == plain["help"]  # acme's adapter of its "help" never serves the default tenant's
    lore.store.trained_models.deactivate("acme", KIND, "help")
    lore.adapters.forget("acme", "help")
    AdapterVersions.of(lore).activate("default", "help", world.trained.version)
    assert right(tops(lore), world.help) >= 10
    assert tops(lore, collections=["other"]) == plain["other"]
    assert tops(lore, "acme") == plain["acme"]  # the same collection name in another tenant
    with pytest.raises(NotFound):
        AdapterVersions.of(lore).show("acme", "help")
    # searched together, each collection is searched with its own query vector
    found: list[bool] = []
    spaces = lore.retriever.plan(SearchRequest("default", "x", collections=["help", "other"]))
    assert sorted((space.adapter is not None, names) for space, names in spaces.items()) == [
        (False, ["other"]),
        (True, ["help"]),
    ]
    for probe, code, plain_other in zip(PROBES, jargon.TOPICS, plain["other"], strict=True):
        hits = lore.search(SearchRequest("default", probe, 2, "vector", ["help", "other"]))
        by_collection = {hit.chunk.collection: hit.chunk.document_id for hit in hits}
        assert by_collection["other"] == plain_other  # interleaved by rank: each space's best comes first
        found.append(by_collection["help"] == world.help[code])
    assert sum(found) >= 10


def test_an_adapter_for_another_embedding_model_is_not_applied(world: World) -> None:
    lore = world.lore
    saved = lore.store.trained_models.save(
        "default",
        KIND,
        "help",
        lore.store.trained_models.payload("default", world.trained.id),
        data_hash="x",
        embedder="another-model@v1",
    )
    AdapterVersions.of(lore).activate("default", "help", saved.version, force=True)
    [space] = lore.retriever.plan(SearchRequest("default", "x", collections=["help"]))
    assert space.adapter is None and right(tops(lore), world.help) <= 4


def test_other_processes_follow_within_the_refresh_interval(world: World) -> None:
    now = [0.0]
    adapters = QueryAdapters(world.lore.store.trained_models, 5.0, clock=lambda: now[0])
    assert adapters.active("default", "help") is None
    world.lore.store.trained_models.activate("default", world.trained.id)
    now[0] = 4.0
    assert adapters.active("default", "help") is None
    now[0] = 5.5
    adapter = adapters.active("default", "help")
    assert adapter is not None and adapter.id == world.trained.id
    world.lore.store.trained_models.deactivate("default", KIND, "help")
    now[0] = 8.0
    assert adapters.active("default", "help") is adapter  # the same loaded version until the next read
    now[0] = 11.0
    assert adapters.active("default", "help") is None
