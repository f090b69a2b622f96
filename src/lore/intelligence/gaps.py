"""Knowledge gaps: the questions a tenant's knowledge base served poorly, grouped into topics, each with how
often and by how many it was asked, its trend by week, why it counts, and the existing articles nearest it, so
the team sees what to write or fix.

    >>> gaps = KnowledgeGaps(lore)
    >>> report = gaps.report(principal, min_count=2, limit=20)
    >>> report.topics[0].label, report.topics[0].count, report.topics[0].articles

The questions (`gap_questions`) are embedded in one batch by the model that embeds most of the tenant's
collections and clustered (`clustering`); the clustering of a window is kept per tenant for
`LORE_GAPS_CACHE_SECONDS`. The nearest articles are looked up on each report, for the caller's reading: a
restricted document the caller may not read is never one of them.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np

from lore.caching import LRU
from lore.core.retrieve import SearchRequest
from lore.errors import InvalidInput
from lore.intelligence import clustering
from lore.intelligence.gap_questions import REASONS, Asked, Reason, Window, poorly_served
from lore.models import Hit, utcnow
from lore.security.access import collections_for, readers_of
from lore.security.principal import Principal
from lore.service import Lore

Direction = Literal["rising", "falling", "steady"]
EXAMPLES = 5  # most central questions shown per topic
ARTICLES = 3  # nearest articles per topic
ARTICLE_CHUNKS = 20  # chunks searched for them (several may come from one article)
MAX_WINDOW = timedelta(days=366)
WEEK = timedelta(days=7)
KEPT_REPORTS = 64
TREND_RATIO = 1.5  # the window's second half against its first: more than this many times as many is rising
TREND_MIN_CHANGE = 2  # ... and by at least this many questions (one more question is no trend)


@dataclass(frozen=True, slots=True)
class Week:
    """`start <= at < end`; the oldest week of a window may be shorter."""

    start: datetime
    end: datetime
    count: int


@dataclass(frozen=True, slots=True)
class Trend:
    weeks: list[Week]  # oldest first, the last ending with the window
    direction: Direction


@dataclass(frozen=True, slots=True)
class Article:
    """A document near a topic: `similarity` is the cosine of its best chunk to the topic's centre."""

    document_id: str
    title: str
    collection: str
    similarity: float


@dataclass(frozen=True, slots=True)
class Topic:
    """Questions about one thing: `label` is the most central question, `examples` the most central few."""

    label: str
    count: int
    users: int
    examples: list[str]
    reasons: dict[Reason, int]
    trend: Trend
    centroid: np.ndarray
    articles: tuple[Article, ...] = ()


@dataclass(frozen=True, slots=True)
class GapReport:
    """`questions`: the poorly served questions considered (the newest, at most `LORE_GAPS_MAX_QUESTIONS`);
    `model`: the embedding model they were compared in."""

    tenant_id: str
    since: datetime
    until: datetime
    questions: int
    model: str
    topics: list[Topic]


def window_of(since: datetime | None, until: datetime | None, days: int, now: datetime) -> Window:
    """The report's window: `until` defaults to now, `since` to `days` before `until`; naive times are UTC."""
    try:
        end = _utc(until) if until is not None else now
        start = _utc(since) if since is not None else end - timedelta(days=days)
    except OverflowError:  # a time at the edge of the calendar, or moved past it by its offset
        raise InvalidInput("since and until must be times between the years 1 and 9999") from None
    if start >= end:
        raise InvalidInput(
            "since must be before until", details={"since": start.isoformat(), "until": end.isoformat()}
        )
    if end - start > MAX_WINDOW:
        raise InvalidInput("a gap report covers at most 366 days", details={"days": (end - start).days})
    return Window(start, end)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def topics_of(
    asked: Sequence[Asked],
    embed: Callable[[list[str]], np.ndarray],
    window: Window,
    max_distance: float,
) -> list[Topic]:
    """Cluster the questions (one point per distinct text, case and spacing aside), most asked topic first."""
    texts, groups = _distinct(asked)
    if not texts:
        return []
    vectors = embed(texts)
    labels = clustering.cluster(vectors, max_distance)
    weights = np.array([len(group) for group in groups], dtype=np.float64)
    found = []
    for label in range(int(labels.max()) + 1):
        members = [int(i) for i in np.flatnonzero(labels == label)]
        centre = clustering.centre(vectors, members, weights)
        questions = [question for i in members for question in groups[i]]
        found.append(_topic([texts[i] for i in centre.members], questions, centre.centroid, window))
    return sorted(found, key=lambda topic: (-topic.count, topic.label))


def _distinct(asked: Sequence[Asked]) -> tuple[list[str], list[list[Asked]]]:
    """Texts in a stable order (by their folded form), each with the questions that asked it."""
    grouped: dict[str, list[Asked]] = {}
    for question in asked:
        grouped.setdefault(question.text.casefold(), []).append(question)
    keys = sorted(grouped)
    return [min(q.text for q in grouped[key]) for key in keys], [grouped[key] for key in keys]


def _topic(central: list[str], questions: list[Asked], centroid: np.ndarray, window: Window) -> Topic:
    reasons = Counter(reason for question in questions for reason in question.reasons)
    return Topic(
        label=central[0],
        count=len(questions),
        users=len({question.asker for question in questions}),
        examples=central[:EXAMPLES],
        reasons={reason: reasons.get(reason, 0) for reason in REASONS},
        trend=trend_of([question.at for question in questions], window),
        centroid=centroid,
    )


def trend_of(moments: Sequence[datetime], window: Window) -> Trend:
    """Counts per week, counted back from the window's end, and whether the second half of the window had
    clearly more questions than the first (rising), clearly fewer (falling), or about as many (steady)."""
    weeks = []
    end = window.until
    while end > window.since:
        start = max(end - WEEK, window.since)
        weeks.append(Week(start, end, sum(1 for at in moments if start <= at < end)))
        end = start
    middle = window.since + (window.until - window.since) / 2
    later = sum(1 for at in moments if at >= middle)
    return Trend(weeks[::-1], _direction(len(moments) - later, later))


def _direction(earlier: int, later: int) -> Direction:
    if later - earlier >= TREND_MIN_CHANGE and later > TREND_RATIO * earlier:
        return "rising"
    if earlier - later >= TREND_MIN_CHANGE and earlier > TREND_RATIO * later:
        return "falling"
    return "steady"


def nearest_articles(hits: Sequence[Hit], count: int = ARTICLES) -> tuple[Article, ...]:
    """The documents of the nearest chunks, each at its best chunk's similarity, nearest first."""
    best: dict[str, Article] = {}
    for hit in hits:
        similarity = round(float(hit.vector_score if hit.vector_score is not None else hit.score), 4)
        chunk = hit.chunk
        if chunk.document_id not in best or best[chunk.document_id].similarity < similarity:
            best[chunk.document_id] = Article(chunk.document_id, chunk.title, chunk.collection, similarity)
    return tuple(sorted(best.values(), key=lambda a: (-a.similarity, a.document_id))[:count])


class KnowledgeGaps:
    """A tenant's gap reports, the clustering of each window kept for `LORE_GAPS_CACHE_SECONDS`."""

    def __init__(self, lore: Lore, clock: Callable[[], datetime] = utcnow) -> None:
        self.lore = lore
        self.settings = lore.settings.intelligence
        self.clock = clock
        self._kept: LRU[tuple[str, datetime | None, datetime | None], tuple[float, GapReport]] = LRU(
            KEPT_REPORTS
        )
        self._working: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def report(
        self,
        principal: Principal,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        min_count: int = 2,
        limit: int = 20,
    ) -> GapReport:
        """The `limit` most asked topics of at least `min_count` questions, with their nearest articles among
        the documents the principal may read."""
        if min_count < 1 or limit < 1:
            raise InvalidInput(
                "min_count and limit must be at least 1", details={"min_count": min_count, "limit": limit}
            )
        clustered = self._clustered(principal.tenant_id, since, until)
        chosen = [topic for topic in clustered.topics if topic.count >= min_count][:limit]
        topics = [
            replace(topic, articles=self._articles(principal, clustered.model, topic)) for topic in chosen
        ]
        return replace(clustered, topics=topics)

    def _clustered(self, tenant_id: str, since: datetime | None, until: datetime | None) -> GapReport:
        key = (tenant_id, since, until)
        with self._working_on(tenant_id):  # requests that arrive meanwhile wait for it, not work it out again
            kept = self._kept.get(key)
            if kept is not None and kept[0] > time.monotonic():
                return kept[1]
            self.lore.events.flush()  # this process's latest questions count too
            window = window_of(since, until, self.settings.gaps_window_days, self.clock())
            report = self._cluster(tenant_id, window)
            self._kept.put(key, (time.monotonic() + self.settings.gaps_cache_seconds, report))
            return report

    def _working_on(self, tenant_id: str) -> threading.Lock:
        """The lock under which a tenant's reports are worked out, one at a time."""
        with self._guard:
            return self._working.setdefault(tenant_id, threading.Lock())

    def _cluster(self, tenant_id: str, window: Window) -> GapReport:
        settings = self.settings
        asked = poorly_served(
            self.lore.store.events,
            tenant_id,
            window,
            settings.gaps_min_confidence,
            settings.gaps_max_questions,
        )
        model = self.lore.models.main_model(tenant_id)
        embed = functools.partial(self.lore.models.embed_queries, model)
        topics = topics_of(asked, embed, window, settings.gaps_max_distance)
        return GapReport(tenant_id, window.since, window.until, len(asked), model, topics)

    def _articles(self, principal: Principal, model: str, topic: Topic) -> tuple[Article, ...]:
        request = SearchRequest(
            principal.tenant_id,
            topic.label,
            ARTICLE_CHUNKS,
            "vector",
            collections_for(principal, None),
            readers=readers_of(principal),
        )
        return nearest_articles(self.lore.nearest(request, model, topic.centroid))
