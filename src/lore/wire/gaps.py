"""Wire models of knowledge gaps: `GET /v1/analytics/gaps` returns a `GapsOut` (and `lore gaps --json` prints
it); `POST /v1/analytics/gaps/promote` takes a `PromoteIn`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from lore.intelligence.drafts import Promotion
from lore.intelligence.gaps import Article, GapReport, Topic
from lore.wire.schemas import Input, Name, Title


class GapArticleOut(BaseModel):
    document_id: str
    title: str
    collection: str
    similarity: float = Field(description="Cosine of the article's nearest chunk to the topic's centre.")


class GapWeekOut(BaseModel):
    start: datetime
    end: datetime = Field(description="Exclusive; the oldest week of the window may be shorter.")
    count: int


class GapTrendOut(BaseModel):
    weeks: list[GapWeekOut] = Field(description="Questions per week, oldest first; the last ends at `until`.")
    direction: Literal["rising", "falling", "steady"] = Field(
        description="rising: the window's second half had clearly more questions than its first (over 1.5 "
        "times as many, and at least 2 more); falling: clearly fewer; else steady."
    )


class GapReasonsOut(BaseModel):
    """How many of the topic's questions count for each reason (one question may have several)."""

    abstained: int = Field(description="Answers that said they do not know.")
    low_confidence: int = Field(description="Answers whose best passage scored under the confidence floor.")
    not_helpful: int = Field(description="Answers or searches the asker marked not helpful.")
    no_click: int = Field(description="Searches with no hits, or only poor ones, that nobody clicked.")


class GapTopicOut(BaseModel):
    label: str = Field(description="The topic's most central question.")
    count: int = Field(description="Poorly served questions in the topic.")
    users: int = Field(description="Distinct askers: end users, else the users or keys that asked.")
    examples: list[str] = Field(description="The most central distinct questions, most central first.")
    reasons: GapReasonsOut
    trend: GapTrendOut
    articles: list[GapArticleOut] = Field(
        description="The caller's readable documents nearest the topic: what to fix, or nothing close "
        "(what to write)."
    )

    @classmethod
    def of(cls, topic: Topic) -> GapTopicOut:
        trend = topic.trend
        return cls(
            label=topic.label,
            count=topic.count,
            users=topic.users,
            examples=topic.examples,
            reasons=GapReasonsOut(**topic.reasons),
            trend=GapTrendOut(
                weeks=[GapWeekOut(start=w.start, end=w.end, count=w.count) for w in trend.weeks],
                direction=trend.direction,
            ),
            articles=[_article(article) for article in topic.articles],
        )


def _article(article: Article) -> GapArticleOut:
    return GapArticleOut(
        document_id=article.document_id,
        title=article.title,
        collection=article.collection,
        similarity=article.similarity,
    )


class GapsOut(BaseModel):
    tenant_id: str
    since: datetime
    until: datetime
    questions: int = Field(
        description="Poorly served questions considered: the newest of the window, at most "
        "`LORE_GAPS_MAX_QUESTIONS`."
    )
    model: str = Field(description="The embedding model the questions were compared in.")
    topics: list[GapTopicOut] = Field(description="Most asked first.")

    @classmethod
    def of(cls, report: GapReport) -> GapsOut:
        return cls(
            tenant_id=report.tenant_id,
            since=report.since,
            until=report.until,
            questions=report.questions,
            model=report.model,
            topics=[GapTopicOut.of(topic) for topic in report.topics],
        )


class PromoteIn(Input):
    """An answer to turn into a draft article."""

    conversation_id: Name
    message_id: int = Field(ge=1, le=2**63 - 1, description="The answer's id (an assistant message).")
    title: Title | None = Field(None, description="Default: the question.")
    collection: Name | None = Field(None, description="Default: `LORE_GAPS_DRAFTS_COLLECTION` (`drafts`).")

    def to_domain(self) -> Promotion:
        return Promotion(self.conversation_id, self.message_id, self.title or None, self.collection)
