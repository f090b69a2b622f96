"""Caches of query embeddings and search results: in process, and in a real Redis shared by two services."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
import redis

from lore.backends.cache import Caches, open_caches
from lore.config import Settings
from lore.core.retrieve import SearchRequest
from lore.models import DEFAULT_TENANT
from lore.service import Lore

REDIS_URL = "redis://127.0.0.1:6379/15"
UNREACHABLE = "redis://127.0.0.1:1/15"  # nothing listens on port 1


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own, removed afterwards."""
    name = f"lore-test-{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def shared(settings: Settings, prefix: str, url: str = REDIS_URL) -> tuple[Settings, Caches]:
    configured = settings.updated(redis_url=url, index_sync_seconds=3600.0)
    return configured, open_caches(configured, prefix=prefix)


def titles(lore: Lore, query: str, collections: list[str] | None = None) -> list[str]:
    hits = lore.search(SearchRequest(DEFAULT_TENANT, query, k=5, collections=collections))
    return [hit.chunk.title for hit in hits]


def test_a_write_through_one_replica_is_seen_by_the_other_at_once(settings: Settings, prefix: str) -> None:
    """Neither replica re-reads the store on its own for an hour: only the shared versions tell B of A's write."""
    configured, caches_a = shared(settings, prefix)
    with Lore.open(configured, caches=caches_a) as a:
        a.add_text(title="Warranty", text="Every device carries a two year warranty.")
        with Lore.open(configured, caches=open_caches(configured, prefix=prefix)) as b:
            assert titles(b, "how long is the warranty") == ["Warranty"]
            assert titles(b, "how long is the warranty") == ["Warranty"]
            assert b.cache_stats()["search_results"].hits == 1
            a.add_text(title="Warranty", text="Every device now carries a five year warranty.", source="w2")
            assert set(titles(b, "how long is the warranty")) == {"Warranty"}
            texts = [h.chunk.text for h in b.search(SearchRequest(DEFAULT_TENANT, "five year warranty", k=5))]
            assert any("five year" in text for text in texts)
            a.delete_document(a.list_documents().items[0].id)
            remaining = b.search(SearchRequest(DEFAULT_TENANT, "how long is the warranty", k=5))
            assert len(remaining) == 1


def test_results_cached_by_one_replica_are_served_to_the_other(settings: Settings, prefix: str) -> None:
    configured, caches = shared(settings, prefix)
    with Lore.open(configured, caches=caches) as a:
        a.add_text(title="Refunds", text="Refunds reach your card within five business days.")
        a.add_text(
            title="Shipping", text="Parcels ship from Rotterdam every weekday.", collection="logistics"
        )
        assert titles(a, "when will my refund arrive")[0] == "Refunds"
        with Lore.open(configured, caches=open_caches(configured, prefix=prefix)) as b:
            assert titles(b, "when will my refund arrive")[0] == "Refunds"
            stats = b.cache_stats()
            assert (stats["search_results"].hits, stats["search_results"].misses) == (1, 0)
            assert stats["query_embeddings"].misses == 0  # not even embedded again
            assert stats["search_results"].size is None  # a shared server: not counted per process


def test_a_write_invalidates_its_collection_and_the_tenant_but_not_other_collections(
    settings: Settings, prefix: str
) -> None:
    configured, caches = shared(settings, prefix)
    with Lore.open(configured, caches=caches) as lore:
        lore.add_text(title="Refunds", text="Refunds reach your card within five business days.")
        lore.add_text(
            title="Shipping", text="Parcels ship from Rotterdam every weekday.", collection="logistics"
        )
        for _ in range(2):
            titles(lore, "parcels", ["logistics"])
            titles(lore, "parcels")
        before = lore.cache_stats()["search_results"]
        assert before.hits == 2
        lore.add_text(title="Card refunds", text="Card refunds take five days.")  # the default collection
        assert titles(lore, "parcels", ["logistics"]) == ["Shipping"]
        assert lore.cache_stats()["search_results"].hits == before.hits + 1  # logistics untouched: a hit
        titles(lore, "parcels")
        assert lore.cache_stats()["search_results"].misses == before.misses + 1  # tenant-wide: recomputed


def test_in_process_caches_invalidate_per_collection_too(settings: Settings) -> None:
    with Lore.open(settings) as lore:
        assert lore.cache.caches.shared is None
        lore.add_text(
            title="Shipping", text="Parcels ship from Rotterdam every weekday.", collection="logistics"
        )
        titles(lore, "parcels", ["logistics"])
        lore.add_text(title="Refunds", text="Refunds reach your card within five business days.")
        assert titles(lore, "parcels", ["logistics"]) == ["Shipping"]
        stats = lore.cache_stats()["search_results"]
        assert (stats.hits, stats.size) == (1, 1)
        lore.add_text(title="Shipping 2", text="Parcels also ship from Hamburg.", collection="logistics")
        assert set(titles(lore, "parcels", ["logistics"])) == {"Shipping", "Shipping 2"}


def test_searches_work_without_redis_and_count_its_errors(
    settings: Settings, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    configured, caches = shared(settings, prefix, url=UNREACHABLE)
    with caplog.at_level(logging.WARNING, logger="lore.cache"), Lore.open(configured, caches=caches) as lore:
        lore.add_text(title="Refunds", text="Refunds reach your card within five business days.")
        for _ in range(3):
            assert titles(lore, "when will my refund arrive")[0] == "Refunds"
        stats = lore.cache_stats()
        assert stats["search_results"].errors >= 3 and stats["search_results"].hits == 0
        assert stats["query_embeddings"].errors >= 3
    warnings = [r for r in caplog.records if r.name == "lore.cache" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "redis" in warnings[0].getMessage()


def test_the_hit_rate_is_exported(settings: Settings) -> None:
    with Lore.open(settings) as lore:
        lore.add_text(title="Refunds", text="Refunds reach your card within five business days.")
        for _ in range(5):
            titles(lore, "refund")
        stats = lore.cache_stats()["search_results"]
        assert stats.hit_rate == pytest.approx(4 / 5)
