"""A hybrid search ranks, scores and snippets its hits exactly as fusion rule and snippet maker say, however
the retriever computes them (score columns instead of `Candidate`s, snippets after hydration)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lore.config import Settings
from lore.core import fusion
from lore.core.highlight import make_snippet
from lore.core.retrieve import MIN_DEPTH, SearchRequest
from lore.models import DEFAULT_TENANT
from lore.service import Lore

TOPICS = [
    ("Refunds", "Refunds are paid back to the card within five business days of the request."),
    ("Passwords", "Reset a forgotten password from the sign-in page; reset links expire after an hour."),
    ("Shipping", "Parcels ship from the warehouse daily; tracking numbers arrive by email."),
    ("Invoices", "Invoices are issued monthly and list every refund and charge of the period."),
    ("Accounts", "Closing an account deletes its passwords, invoices and saved cards for good."),
    ("Cards", "A card payment that fails is retried the next day, then the account is paused."),
]
QUERIES = [
    "how long do refunds take",
    "password reset link expired",
    "card",
    "invoice refund charge",
    "zebra",
]


@pytest.fixture(params=["memory", "store"])
def lore(request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path) -> Iterator[Lore]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        keyword_index=request.param,
    )
    with Lore.open(settings) as service:
        for round_ in range(3):  # more chunks than a search returns, with ties between copies
            for title, text in TOPICS:
                service.add_text(title=f"{title} {round_}", text=f"{text} Copy {round_ % 2}.")
        yield service


@pytest.mark.parametrize("query", QUERIES)
def test_hybrid_hits_are_the_fusion_rule_applied_to_the_pool(lore: Lore, query: str) -> None:
    request = SearchRequest(DEFAULT_TENANT, query, k=7)
    (pool,) = lore.retriever.pools(request, MIN_DEPTH)
    scores = fusion.fuse(pool.candidates, pool.coverage, pool.floor)
    order = np.argsort(-scores, kind="stable")[: request.k]
    expected = [(pool.candidates[i].chunk_id, float(scores[i])) for i in order]
    hits = lore.search(request)
    assert [(hit.chunk.id, hit.score) for hit in hits] == expected
    by_id = {c.chunk_id: c for c in pool.candidates}
    for hit in hits:
        assert (hit.vector_score, hit.keyword_score) == (
            by_id[hit.chunk.id].vector,
            by_id[hit.chunk.id].keyword,
        )
        assert hit.relevance == fusion.relevance(hit.vector_score, pool.floor)
        snippet = make_snippet(hit.chunk.text, query)
        assert (hit.snippet, hit.highlights) == (snippet.text, snippet.highlights)


def test_fusing_score_columns_is_fusing_candidates() -> None:
    rng = np.random.default_rng(7)
    candidates = [fusion.Candidate(i, float(v), float(b)) for i, (v, b) in enumerate(rng.random((40, 2)))]
    vector = np.array([c.vector for c in candidates])
    keyword = np.array([c.keyword for c in candidates])
    for floor in (None, 0.2):
        assert (
            fusion.fuse_columns(vector, keyword, 0.7, floor).tolist()
            == fusion.fuse(candidates, 0.7, floor).tolist()
        )
    assert fusion.fuse_columns(np.array([]), np.array([]), 1.0, None).tolist() == []
