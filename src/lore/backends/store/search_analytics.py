"""Search analytics: aggregate SQL over the `events` table, in dialect-neutral SQLAlchemy Core.

A `search` event is one search (its `search_id`, its `query`, `value` null when it found nothing, and the number
of hits in `data.hits`); a `click` event names the search it follows and the rank it clicked. From them:
the most frequent queries, queries searched often and never clicked, click-through rate by rank, and queries
that found nothing. Queries are compared normalised: the server collapses their whitespace when it records a
search, and the aggregates group by `lower(query)` (SQLite folds ASCII letters only, PostgreSQL every letter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lore.backends.store.schema import events

RANKS = 10  # click-through is reported for ranks 1..RANKS


@dataclass(frozen=True, slots=True)
class QueryStats:
    """One normalised query: how often it was searched, how many of those searches were followed by a click,
    and how many found nothing."""

    query: str
    searches: int
    clicked: int
    zero_results: int


@dataclass(frozen=True, slots=True)
class RankStats:
    """Searches that showed a hit at `rank` (impressions), and how many of them had that hit clicked."""

    rank: int
    impressions: int
    clicks: int

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0


@dataclass(frozen=True, slots=True)
class SearchAnalytics:
    searches: int
    clicked: int  # searches followed by at least one click
    top_queries: list[QueryStats]
    no_click_queries: list[QueryStats]
    zero_result_queries: list[QueryStats]
    ctr_by_rank: list[RankStats]


def search_analytics(
    conn: sa.Connection,
    tenant_id: str,
    since: datetime | None,
    until: datetime | None,
    *,
    limit: int,
    min_searches: int,
) -> SearchAnalytics:
    searches = _searches(tenant_id, since, until)
    clicked = _clicked(tenant_id)
    joined = searches.outerjoin(clicked, clicked.c.search_id == searches.c.search_id)
    total, followed = conn.execute(
        sa.select(sa.func.count(), sa.func.count(clicked.c.search_id)).select_from(joined)
    ).one()
    per_query = _per_query(searches, clicked, joined)
    searched, clicks, zero = (per_query.selected_columns[i] for i in (1, 2, 3))
    top = per_query.order_by(searched.desc(), searches.c.query)
    never = per_query.having(sa.and_(searched >= min_searches, clicks == 0))
    empty = per_query.having(zero > 0).order_by(zero.desc(), searched.desc(), searches.c.query)
    return SearchAnalytics(
        searches=int(total),
        clicked=int(followed),
        top_queries=_queries(conn, top.limit(limit)),
        no_click_queries=_queries(conn, never.order_by(searched.desc(), searches.c.query).limit(limit)),
        zero_result_queries=_queries(conn, empty.limit(limit)),
        ctr_by_rank=_by_rank(conn, tenant_id, searches),
    )


def _searches(tenant_id: str, since: datetime | None, until: datetime | None) -> sa.Subquery:
    """The window's searches: id, normalised query, top score (null: no hits) and number of hits."""
    query = sa.select(
        events.c.search_id,
        sa.func.lower(events.c.query).label("query"),
        events.c.value,
        events.c.data["hits"].as_integer().label("hits"),
    ).where(
        events.c.tenant_id == tenant_id,
        events.c.kind == "search",
        events.c.search_id.is_not(None),
        events.c.query.is_not(None),
    )
    if since is not None:
        query = query.where(events.c.at >= since)
    if until is not None:
        query = query.where(events.c.at < until)
    return query.subquery("searches")


def _clicked(tenant_id: str) -> sa.Subquery:
    """Each search id that some click names, once."""
    query = sa.select(events.c.search_id).where(
        events.c.tenant_id == tenant_id, events.c.kind == "click", events.c.search_id.is_not(None)
    )
    return query.distinct().subquery("clicked")


def _per_query(searches: sa.Subquery, clicked: sa.Subquery, joined: sa.Join) -> sa.Select[Any]:
    zero = sa.func.sum(sa.case((searches.c.value.is_(None), 1), else_=0))
    return (
        sa.select(
            searches.c.query,
            sa.func.count().label("searches"),
            sa.func.count(clicked.c.search_id).label("clicked"),
            zero.label("zero_results"),
        )
        .select_from(joined)
        .group_by(searches.c.query)
    )


def _queries(conn: sa.Connection, query: sa.Select[Any]) -> list[QueryStats]:
    return [
        QueryStats(str(text), int(searched), int(clicked), int(zero or 0))
        for text, searched, clicked, zero in conn.execute(query)
    ]


def _by_rank(conn: sa.Connection, tenant_id: str, searches: sa.Subquery) -> list[RankStats]:
    """Impressions at rank r: searches with at least r hits; clicks at r: those searches with a click at r."""
    shown = [sa.func.sum(sa.case((searches.c.hits >= rank, 1), else_=0)) for rank in range(1, RANKS + 1)]
    impressions = conn.execute(sa.select(*shown)).one()
    clicks = events.alias("clicks")
    query = (
        sa.select(clicks.c.rank, sa.func.count(sa.distinct(clicks.c.search_id)))
        .select_from(clicks.join(searches, searches.c.search_id == clicks.c.search_id))
        .where(
            clicks.c.tenant_id == tenant_id,
            clicks.c.kind == "click",
            clicks.c.rank.between(1, RANKS),
            clicks.c.rank <= searches.c.hits,
        )
        .group_by(clicks.c.rank)
    )
    clicked = {int(rank): int(n) for rank, n in conn.execute(query)}
    return [
        RankStats(rank, int(impressions[rank - 1] or 0), clicked.get(rank, 0)) for rank in range(1, RANKS + 1)
    ]
