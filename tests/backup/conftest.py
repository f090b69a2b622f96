"""Fixtures of the backup tests: fresh installations on either backend, a small knowledge base with a history
(updates and deletions, so id counters matter), and search results to compare before and after a restore."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lore.config import Settings
from lore.core.retrieve import SearchRequest
from lore.models import DEFAULT_TENANT
from lore.service import Lore

ARTICLES = [
    ("Refunds", "# Refunds\n\nRefunds reach your card within five business days.", ["billing"], {"tier": 1}),
    ("Passwords", "# Passwords\n\nTo reset a forgotten password, open Settings and choose Security.", [], {}),
    (
        "Shipping",
        "# Shipping\n\nParcels ship from Rotterdam every weekday morning by courier.",
        ["logistics"],
        {},
    ),
    (
        "Invoices",
        "# Invoices\n\n## Download\n\nInvoices are in Billing, as PDF, for two years.",
        ["billing"],
        {},
    ),
    ("Two-factor", "# Two-factor\n\nEnable two-factor sign-in with an authenticator app.", ["security"], {}),
    ("Exports", "# Exports\n\nExport your data as CSV or JSON from the Account page.", [], {"beta": True}),
    ("Teams", "# Teams\n\nInvite colleagues to a team; owners manage seats and roles.", [], {}),
    ("Status", "# Status\n\nCheck the status page when the app is slow or unavailable.", [], {}),
]
QUERIES = [
    "how long does a refund take",
    "forgot my password",
    "where do parcels ship from",
    "download invoice pdf",
]
MODES = ("hybrid", "vector", "keyword")

Results = dict[tuple[str, str], list[tuple[int, str, float]]]


def fill(lore: Lore) -> None:
    """The articles in two collections, one updated and one deleted: ids 1.. are not all live."""
    for position, (title, text, tags, metadata) in enumerate(ARTICLES):
        collection = "help" if position % 2 else "default"
        lore.add_text(
            title=title, text=text, source=title.lower(), collection=collection, tags=tags, metadata=metadata
        )
    lore.add_text(
        title="Status",
        text="# Status\n\nSee status.example.com for outages and maintenance.",
        source="status",
        collection="help",
    )
    gone = lore.add_text(
        title="Obsolete", text="# Obsolete\n\nThe legacy dashboard was retired.", source="old"
    )
    lore.delete_document(gone.id)


def results(lore: Lore) -> Results:
    """Every query in every mode over both collections: chunk ids, titles and scores (to 5 places)."""
    found: Results = {}
    for query in QUERIES:
        for mode in MODES:
            request = SearchRequest(DEFAULT_TENANT, query, k=5, mode=mode, collections=["default", "help"])  # type: ignore[arg-type]
            hits = lore.search(request)
            found[query, mode] = [(hit.chunk.id, hit.chunk.title, round(hit.score, 5)) for hit in hits]
    return found


def rankings(found: Results) -> dict[tuple[str, str], list[tuple[int, str]]]:
    """Results without scores: keyword scores differ between backends (FTS5's BM25 and PostgreSQL's)."""
    return {key: [(chunk_id, title) for chunk_id, title, _ in hits] for key, hits in found.items()}


@pytest.fixture
def make_settings(
    request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path
) -> Iterator[Callable[[str], Settings]]:
    """`make_settings("sqlite" | "postgres" | "postgres-bare")`: a fresh, empty installation each call
    (`postgres-bare`: a database with pgvector and no schema at all)."""
    databases: list[str] = []
    numbers = itertools.count(1)

    def make(backend: str) -> Settings:
        url = None
        if backend.startswith("postgres"):
            url = request.getfixturevalue("postgres").create_database(migrated=backend == "postgres")
            databases.append(url)
        return Settings(
            _env_file=None,
            data_dir=tmp_path / f"install-{next(numbers)}",
            database_url=url,
            model_cache_dir=model_cache,
            parse_workers=1,
            embed_threads=1,
        )

    yield make
    for url in databases:
        request.getfixturevalue("postgres").drop_database(url)
