"""A server's vector index catches up in the background: a big upload commits and returns, searches answer from
what the index has applied while a catch-up runs, and /readyz reports how far behind it is, degrading to 503
past its threshold. Holding the sync lock stands in for a long catch-up under way."""

from __future__ import annotations

import httpx
import pytest

from lore.config import Settings
from lore.service import Lore
from tests.api.conftest import LiveServer, assert_error, upload
from tests.waiting import wait_for

INLINE = 20  # changes a write or a search still applies itself
READY_LAG = 30  # changes behind at which /readyz degrades
SECTIONS = 60  # chunks of the big upload: more than both


@pytest.fixture(scope="module")
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.updated(inline_catch_up_changes=INLINE, ready_max_lag_changes=READY_LAG)


@pytest.fixture(scope="module")
def lore(server: LiveServer) -> Lore:
    return server.lore


def manual(sections: int, word: str) -> str:
    """A Markdown document of `sections` one-chunk sections, of few distinct texts (cheap to embed)."""
    texts = [
        f"The {word} manual, part {v}, covers refunds, shipping and passwords in plain words."
        for v in range(4)
    ]
    return "# Manual\n\n" + "".join(f"## Part\n\n{texts[i % 4]}\n\n" for i in range(sections))


def sources(client: httpx.Client, query: str) -> set[str]:
    response = client.post("/v1/search", json={"query": query, "k": 10, "mode": "vector"})
    assert response.status_code == 200, response.text
    return {hit["source"] for hit in response.json()["hits"]}


def test_a_small_write_is_searchable_at_once(client: httpx.Client) -> None:
    created = client.post("/v1/documents", json={"title": "Pelicans", "text": "Pelicans nest on islands."})
    assert created.status_code == 201
    assert created.json()["source"] in sources(client, "pelicans nest on islands")


def test_a_big_upload_returns_and_searches_answer_while_the_index_catches_up(
    client: httpx.Client, lore: Lore
) -> None:
    with lore.index_sync.exclusive():  # a long catch-up under way
        created = upload(client, "big.md", manual(SECTIONS, "zebra"), "text/markdown")
        assert created.status_code == 201, created.text
        assert created.json()["chunk_count"] >= SECTIONS
        # answered from what is applied: not the new manual yet
        assert created.json()["source"] not in sources(client, "the zebra manual on refunds")
        error = assert_error(client.get("/readyz"), 503, "index_behind")
        index = error["details"]["vector_index"]
        assert index["changes_behind"] >= SECTIONS and index["seconds_behind"] > 0
        assert error["details"]["max_lag_changes"] == READY_LAG
    wait_for(lambda: client.get("/readyz").status_code == 200, "the index to catch up in the background")
    assert created.json()["source"] in sources(client, "the zebra manual on refunds")
    assert client.get("/readyz").json()["vector_index"]["changes_behind"] == 0


def test_a_small_write_during_a_long_catch_up_waits_only_a_moment(client: httpx.Client, lore: Lore) -> None:
    with lore.index_sync.exclusive():
        created = client.post("/v1/documents", json={"title": "Ibis", "text": "Ibises wade in marshes."})
        assert created.status_code == 201  # returned (after a bounded wait), though the index could not move
        assert lore.index_sync.applied_seq < lore.store.changes.last_seq()
        assert client.get("/readyz").status_code == 200  # a few changes behind: still ready
    wait_for(
        lambda: created.json()["source"] in sources(client, "ibises wade in marshes"),
        "the write to become searchable",
    )


def test_readiness_reports_the_lag(client: httpx.Client) -> None:
    index = client.get("/readyz").json()["vector_index"]
    assert {"applied_seq", "store_seq", "changes_behind", "seconds_behind"} <= set(index)
