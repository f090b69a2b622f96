"""POST /v1/search over HTTP: every mode, highlights, collection and filter scoping."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

HIT_FIELDS = {
    "rank",
    "chunk_id",
    "document_id",
    "collection",
    "title",
    "source",
    "heading_path",
    "snippet",
    "highlights",
    "text",
    "score",
    "relevance",
    "scores",
    "tags",
    "metadata",
}
DOCUMENTS = [
    {
        "title": "Resetting your password",
        "text": "# Account security\n\nTo reset your password, open Settings, choose Security and click "
        "Reset password. A reset link is emailed to you within a minute.",
        "collection": "help",
        "tags": ["account"],
        "metadata": {"product": "web"},
    },
    {
        "title": "Shipping times",
        "text": "Orders ship within two business days. International delivery takes up to ten days.",
        "collection": "help",
        "tags": ["orders"],
    },
    {
        "title": "Card payments",
        "text": "Update the credit card used for your subscription on the Billing page.",
        "collection": "help",
        "tags": ["billing", "account"],
        "metadata": {"product": "mobile"},
    },
    {
        "title": "Invoices",
        "text": "Download monthly invoices as PDF files from the Billing page of the admin console.",
        "collection": "finance",
        "tags": ["billing"],
        "metadata": {"product": "web"},
    },
]


@pytest.fixture(scope="module")
def ids(client: httpx.Client) -> dict[str, str]:
    """Title -> document id of the module's small corpus."""
    created = [client.post("/v1/documents", json=document) for document in DOCUMENTS]
    assert all(response.status_code == 201 for response in created), [r.text for r in created]
    return {response.json()["title"]: response.json()["id"] for response in created}


def search(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/search", json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword"])
def test_each_mode_finds_the_document_first_with_highlights(
    client: httpx.Client, ids: dict[str, str], mode: str
) -> None:
    result = search(client, query="reset password", mode=mode, k=3)
    assert set(result) == {"search_id", "query", "mode", "took_ms", "hits"}
    assert [hit["rank"] for hit in result["hits"]] == list(range(1, len(result["hits"]) + 1))
    assert (result["query"], result["mode"]) == ("reset password", mode)
    assert result["took_ms"] >= 0
    top = result["hits"][0]
    assert set(top) == HIT_FIELDS
    assert top["document_id"] == ids["Resetting your password"]
    assert (top["title"], top["collection"], top["tags"]) == ("Resetting your password", "help", ["account"])
    assert top["metadata"].items() >= {"product": "web"}.items()
    assert "reset your password" in top["text"]
    highlighted = {top["snippet"][start:end].casefold() for start, end in top["highlights"]}
    assert "password" in highlighted
    assert highlighted <= {"reset", "password"}
    assert len(result["hits"]) <= 3


def test_scores_say_which_retrievers_ran(client: httpx.Client, ids: dict[str, str]) -> None:
    vector = search(client, query="reset password", mode="vector")["hits"][0]["scores"]
    keyword = search(client, query="reset password", mode="keyword")["hits"][0]["scores"]
    hybrid = search(client, query="reset password", mode="hybrid")["hits"][0]["scores"]
    assert vector["keyword"] is None and isinstance(vector["vector"], float)
    assert keyword["vector"] is None and keyword["keyword"] > 0
    assert hybrid["vector"] is not None and hybrid["keyword"] is not None


def test_relevance_is_absolute_where_the_fused_score_is_relative(
    client: httpx.Client, ids: dict[str, str]
) -> None:
    on_topic = search(client, query="how do I reset my password", mode="hybrid")["hits"]
    off_topic = search(client, query="volcanic eruptions on jupiter's moons", mode="hybrid")["hits"]
    assert off_topic  # a search for nothing still has a "best" hit: only relevance says how good it is
    assert on_topic[0]["relevance"] > 0.3 > off_topic[0]["relevance"]
    assert all(0.0 <= hit["relevance"] <= 1.0 for hit in on_topic + off_topic)
    assert [h["score"] for h in on_topic] == sorted((h["score"] for h in on_topic), reverse=True)
    keyword = search(client, query="reset password", mode="keyword")["hits"]
    assert {hit["relevance"] for hit in keyword} == {None}  # BM25 has no absolute scale


def test_heading_path_comes_from_the_markdown(client: httpx.Client, ids: dict[str, str]) -> None:
    top = search(client, query="reset password", mode="keyword")["hits"][0]
    assert top["heading_path"] == ["Account security"]


@pytest.mark.parametrize("collection", ["finance", ["finance"]])
def test_collection_scopes_the_search(
    client: httpx.Client, ids: dict[str, str], collection: str | list[str]
) -> None:
    hits = search(client, query="billing page", collection=collection)["hits"]
    assert [hit["document_id"] for hit in hits] == [ids["Invoices"]]


def test_several_collections(client: httpx.Client, ids: dict[str, str]) -> None:
    hits = search(client, query="billing page", collection=["finance", "help"], k=10)["hits"]
    assert {hit["collection"] for hit in hits} == {"finance", "help"}


@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword"])
def test_tag_filter(client: httpx.Client, ids: dict[str, str], mode: str) -> None:
    hits = search(client, query="billing page", mode=mode, filters={"tags": ["billing"]})["hits"]
    assert {hit["document_id"] for hit in hits} == {ids["Card payments"], ids["Invoices"]}
    hits = search(client, query="billing page", mode=mode, filters={"tags": ["billing", "account"]})["hits"]
    assert [hit["document_id"] for hit in hits] == [ids["Card payments"]]


def test_metadata_and_document_filters(client: httpx.Client, ids: dict[str, str]) -> None:
    hits = search(client, query="billing page", filters={"metadata": {"product": "web"}})["hits"]
    assert {hit["document_id"] for hit in hits} <= {ids["Invoices"], ids["Resetting your password"]}
    assert ids["Invoices"] in {hit["document_id"] for hit in hits}
    only = search(client, query="days", filters={"document_ids": [ids["Shipping times"]]})["hits"]
    assert {hit["document_id"] for hit in only} == {ids["Shipping times"]}


def test_no_match_is_an_empty_list(client: httpx.Client, ids: dict[str, str]) -> None:
    assert search(client, query="xylophone", mode="keyword")["hits"] == []
    assert search(client, query="password", collection="nowhere")["hits"] == []


def test_search_latency_is_measured_by_mode(client: httpx.Client, ids: dict[str, str]) -> None:
    search(client, query="shipping", mode="keyword")
    text = client.get("/metrics").text
    count = re.search(r'^lore_search_seconds_count\{mode="keyword"\} (\S+)$', text, re.MULTILINE)
    assert count is not None and float(count.group(1)) >= 1


def test_repeated_searches_hit_the_caches_and_metrics_say_so(
    client: httpx.Client, ids: dict[str, str]
) -> None:
    def counter(text: str, name: str, cache: str) -> float:
        found = re.search(rf'^{name}_total\{{cache="{cache}"\}} (\S+)$', text, re.MULTILINE)
        assert found is not None, f"{name} for {cache} not exported"
        return float(found.group(1))

    before = client.get("/metrics").text
    first = search(client, query="how long does shipping take")
    second = search(client, query="how long does shipping take")
    assert second["hits"] == first["hits"]
    after = client.get("/metrics").text
    assert (
        counter(after, "lore_cache_hits", "search_results")
        == counter(before, "lore_cache_hits", "search_results") + 1
    )
    assert (
        counter(after, "lore_cache_misses", "query_embeddings")
        >= counter(before, "lore_cache_misses", "query_embeddings") + 1
    )

    client.post(
        "/v1/documents", json={"title": "Shipping upgrade", "text": "Express shipping takes one day."}
    )
    third = search(client, query="how long does shipping take")
    assert "Shipping upgrade" in {hit["title"] for hit in third["hits"]}  # new content empties the caches


def test_reranking_on_a_server_without_a_cross_encoder_is_refused_with_the_settings_to_set(
    client: httpx.Client, ids: dict[str, str]
) -> None:
    response = client.post("/v1/search", json={"query": "reset password", "rerank": True})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and "LORE_RERANK_MODEL" in error["message"]
