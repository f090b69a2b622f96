"""`SqlKeywordSearch`, the database's `keywords` repository (`lore.interfaces.KeywordSearch`): BM25 over the
backend's keyword index, whose query each backend builds (`Database._keyword_select`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lore.backends.store import codec, queries
from lore.backends.store.schema import chunks
from lore.core import keywords
from lore.models import Readers, ScoredChunk, SearchFilters

if TYPE_CHECKING:
    from lore.backends.store.database import Database


class SqlKeywordSearch:
    def __init__(self, db: Database) -> None:
        self._db = db

    def keyword_search(
        self,
        tenant_id: str,
        query: str,
        k: int,
        collections: Sequence[str] | None = None,
        filters: SearchFilters | None = None,
        readers: Readers = None,
    ) -> list[ScoredChunk]:
        terms = keywords.query_terms(query)
        if not terms or k < 1:
            return []
        conditions = queries.chunk_conditions(
            tenant_id, collections, filters, self._db._metadata_equals, readers
        )
        with self._db.read() as conn:
            found = conn.execute(self._db._keyword_select(conn, terms, conditions).limit(k))
            return [ScoredChunk(int(chunk_id), float(score)) for chunk_id, score in found]

    def keyword_scores(self, tenant_id: str, query: str, chunk_ids: Sequence[int]) -> dict[int, float]:
        terms = keywords.query_terms(query)
        scores: dict[int, float] = {}
        if not terms:
            return scores
        tenant = [chunks.c.tenant_id == tenant_id]
        with self._db.read() as conn:
            for batch in codec.in_batches(sorted(set(chunk_ids))):
                select = self._db._keyword_select(conn, terms, tenant, only_ids=batch)
                scores.update((int(chunk_id), float(score)) for chunk_id, score in conn.execute(select))
        return scores
