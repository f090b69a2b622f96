"""Knowledge gaps on SQLite and PostgreSQL: poorly served questions read from real events, embedded by the
real model and clustered into topics with their counts, askers, reasons, weekly trend and nearest articles,
each tenant's apart from the others'."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lore.core.retrieve import SearchRequest
from lore.errors import InvalidInput
from lore.intelligence.gap_questions import Asked, Window, poorly_served
from lore.intelligence.gaps import KnowledgeGaps, Topic, topics_of, trend_of
from lore.models import DEFAULT_TENANT, Access
from lore.security.principal import Principal, operator
from lore.security.scopes import ROLE_SCOPES
from lore.service import Lore
from tests.intelligence.gap_events import SINCE, UNTIL, answer, days_before, event, search

INVOICES = [
    "How do I download my invoice as a PDF?",
    "Can I export invoices to PDF?",
    "Where can I get a PDF copy of my invoice?",
    "download invoice pdf",
]
CANCELLING = [
    "How do I cancel my subscription?",
    "How can I stop my subscription from renewing?",
    "cancel my subscription please",
]
LANGUAGE = ["How do I change the language of the app?", "Can I switch the interface language to French?"]
WELL_ANSWERED = "How long does shipping take?"
VIEWER = Principal(DEFAULT_TENANT, "key", "viewer-key", ROLE_SCOPES["viewer"])


@pytest.fixture
def shop(lore: Lore) -> Lore:
    """A help centre without invoices or cancelling; another tenant's has cancelling."""
    lore.add_text(title="Shipping times", text="Orders ship within two business days and arrive in five.")
    lore.add_text(
        title="Managing your subscription",
        text="Upgrade or downgrade your subscription plan from the Billing page; changes apply next cycle.",
    )
    lore.add_text(title="Resetting your password", text="Choose Forgot password on the sign-in page.")
    lore.store.tenants.create("acme")
    lore.add_text(
        tenant_id="acme",
        title="Cancelling your subscription",
        text="To cancel your subscription, open Billing and choose Cancel plan; it ends with the cycle.",
    )
    return lore


def record(lore: Lore) -> None:
    """Invoices: one question in the first week, three in the last (abstained or weak answers); cancelling:
    weak searches nobody clicked and an answer marked not helpful; questions that were served well."""
    events = [
        answer(INVOICES[0], 1, at=days_before(25), abstained=True, confidence=0.1, user_id="ann"),
        answer(INVOICES[1], 2, at=days_before(3), confidence=0.31, user_id="bob"),
        answer(INVOICES[2], 3, at=days_before(2), abstained=True, confidence=0.2, user_id="ann"),
        search(INVOICES[3], "s-inv", at=days_before(1), user_id="cat"),
        search(CANCELLING[0], "s-c1", at=days_before(26), user_id="dan"),
        search(CANCELLING[1], "s-c2", at=days_before(24), mode="vector", hits=3, score=0.3),
        answer(CANCELLING[2], 7, at=days_before(20), confidence=0.9, user_id="eve"),
        event("not_helpful", at=days_before(20), conversation_id="c7", message_id=7, user_id="eve"),
        # served well: a confident answer, a weak search someone clicked, a weak answer found helpful
        answer(WELL_ANSWERED, 8, at=days_before(4), confidence=0.82),
        search("reset my password", "s-pw", at=days_before(4), mode="vector", hits=3, score=0.3),
        event("click", at=days_before(4), search_id="s-pw", document_id="d", rank=1),
        answer("What are your opening hours?", 9, at=days_before(5), confidence=0.3),
        event("helpful", at=days_before(5), conversation_id="c9", message_id=9),
        # another tenant's questions
        *(
            answer(q, 20 + i, at=days_before(2), tenant="acme", abstained=True)
            for i, q in enumerate(LANGUAGE)
        ),
    ]
    lore.store.events.append(events)


def report_topics(lore: Lore, principal: Principal | None = None, **options: object) -> list[Topic]:
    gaps = KnowledgeGaps(lore)
    return gaps.report(principal or operator(DEFAULT_TENANT), since=SINCE, until=UNTIL, **options).topics  # type: ignore[arg-type]


def test_paraphrases_of_two_missing_topics_are_two_topics(shop: Lore) -> None:
    record(shop)

    topics = report_topics(shop)

    assert [(topic.count, set(topic.examples)) for topic in topics] == [
        (4, set(INVOICES)),
        (3, set(CANCELLING)),
    ]
    invoices, cancelling = topics
    assert invoices.label in INVOICES and cancelling.label in CANCELLING
    assert invoices.users == 3 and cancelling.users == 3  # ann twice; the anonymous search by its key
    assert invoices.reasons == {"abstained": 2, "low_confidence": 1, "not_helpful": 0, "no_click": 1}
    assert cancelling.reasons == {"abstained": 0, "low_confidence": 0, "not_helpful": 1, "no_click": 2}
    asked = {question for topic in topics for question in topic.examples}
    assert not asked & {WELL_ANSWERED, "reset my password", "What are your opening hours?"}


def test_trend_counts_each_week_back_from_the_end(shop: Lore) -> None:
    record(shop)

    invoices, cancelling = report_topics(shop)

    assert [week.count for week in invoices.trend.weeks] == [1, 0, 0, 3]
    assert invoices.trend.weeks[0].start == SINCE and invoices.trend.weeks[-1].end == UNTIL
    assert invoices.trend.direction == "rising"
    assert [week.count for week in cancelling.trend.weeks] == [2, 1, 0, 0]
    assert cancelling.trend.direction == "falling"


def test_a_tenant_sees_only_its_questions_and_its_articles(shop: Lore) -> None:
    record(shop)

    default = report_topics(shop, min_count=1)
    acme = KnowledgeGaps(shop).report(operator("acme"), since=SINCE, until=UNTIL).topics

    default_questions = {q for topic in default for q in topic.examples}
    assert not default_questions & set(LANGUAGE)
    nearest = {topic.label: [a.title for a in topic.articles] for topic in default}
    cancelling = next(topic for topic in default if topic.label in CANCELLING)
    assert nearest[cancelling.label][0] == "Managing your subscription"
    assert "Cancelling your subscription" not in {t for titles in nearest.values() for t in titles}
    assert [set(topic.examples) for topic in acme] == [set(LANGUAGE)]
    assert {a.title for a in acme[0].articles} == {"Cancelling your subscription"}


def test_nearest_articles_leave_out_what_the_caller_may_not_read(shop: Lore) -> None:
    record(shop)
    shop.add_text(
        title="Invoice exports",
        text="Export any invoice as a PDF from the Billing history page.",
        access=Access(restricted=True),
    )

    admin = report_topics(shop)[0]
    viewer = report_topics(shop, VIEWER)[0]

    assert admin.articles[0].title == "Invoice exports" and admin.articles[0].similarity > 0.5
    assert "Invoice exports" not in [article.title for article in viewer.articles]
    assert viewer.count == admin.count  # the questions are the tenant's: only the articles are the reader's


def test_a_report_is_reused_for_a_while_then_worked_out_again(shop: Lore) -> None:
    record(shop)
    kept = KnowledgeGaps(shop)
    fresh_settings = shop.settings.intelligence.model_copy(update={"gaps_cache_seconds": 0.0})
    before = kept.report(operator(DEFAULT_TENANT), since=SINCE, until=UNTIL)
    shop.store.events.append(
        [answer(LANGUAGE[0], 40 + i, at=days_before(1), abstained=True) for i in range(2)]
    )

    again = kept.report(operator(DEFAULT_TENANT), since=SINCE, until=UNTIL)
    uncached = KnowledgeGaps(shop)
    uncached.settings = fresh_settings
    fresh = uncached.report(operator(DEFAULT_TENANT), since=SINCE, until=UNTIL)

    assert again.questions == before.questions == 7
    assert fresh.questions == 9 and LANGUAGE[0] in {t.label for t in fresh.topics}


def test_only_the_newest_questions_are_considered(shop: Lore) -> None:
    record(shop)
    gaps = KnowledgeGaps(shop)
    gaps.settings = shop.settings.intelligence.model_copy(update={"gaps_max_questions": 10})
    shop.store.events.append(
        [
            answer(f"Question number {i} about nothing", 100 + i, at=days_before(1), abstained=True)
            for i in range(12)
        ]
    )

    report = gaps.report(operator(DEFAULT_TENANT), since=SINCE, until=UNTIL, min_count=1, limit=100)

    assert report.questions == 10
    assert not {q for topic in report.topics for q in topic.examples} & set(INVOICES + CANCELLING)


def test_the_window_must_be_ordered_and_at_most_a_year(shop: Lore) -> None:
    gaps = KnowledgeGaps(shop)
    with pytest.raises(InvalidInput, match="before"):
        gaps.report(operator(DEFAULT_TENANT), since=UNTIL, until=SINCE)
    with pytest.raises(InvalidInput, match="366"):
        gaps.report(operator(DEFAULT_TENANT), since=days_before(400), until=UNTIL)
    with pytest.raises(InvalidInput):
        gaps.report(operator(DEFAULT_TENANT), min_count=0)


def test_topics_do_not_depend_on_the_order_questions_come_in(shop: Lore) -> None:
    asked = [
        Asked(text, days_before(i), f"user{i}", frozenset({"abstained"}))
        for i, text in enumerate(INVOICES + CANCELLING + LANGUAGE)
    ]
    window = Window(SINCE, UNTIL)
    embed = shop.embedder.embed_queries
    shuffled = asked[:]
    random.Random(7).shuffle(shuffled)

    first, second = topics_of(asked, embed, window, 0.45), topics_of(shuffled, embed, window, 0.45)

    assert [(t.label, t.count, t.examples) for t in first] == [(t.label, t.count, t.examples) for t in second]
    assert [t.count for t in first] == [4, 3, 2]


def test_a_trend_is_steady_unless_it_clearly_moves() -> None:
    window = Window(SINCE, UNTIL)
    assert trend_of([days_before(20), days_before(3)], window).direction == "steady"
    assert trend_of([days_before(3), days_before(2)], window).direction == "rising"
    assert trend_of([days_before(25)] * 3 + [days_before(1)], window).direction == "falling"
    assert [w.count for w in trend_of([], Window(SINCE, UNTIL.replace(day=30))).weeks] == [0, 0, 0, 0, 0]


def test_questions_searched_lately_reuse_their_cached_vectors(shop: Lore) -> None:
    model = shop.models.main_model(DEFAULT_TENANT)
    shop.search(SearchRequest(DEFAULT_TENANT, INVOICES[0]))  # embeds and caches the query
    cached = shop.models.embed_query(model, INVOICES[0])
    hits_before = shop.cache_stats()["query_embeddings"].hits

    vectors = shop.models.embed_queries(model, [INVOICES[1], INVOICES[0]])

    assert shop.cache_stats()["query_embeddings"].hits == hits_before + 1
    assert np.array_equal(vectors[1], cached)
    assert float(vectors[0] @ shop.models.embed_query(model, INVOICES[1])) > 0.999


def test_feedback_joins_a_chat_completions_answer_by_its_search_id(shop: Lore) -> None:
    shop.store.events.append(
        [
            answer(CANCELLING[0], None, at=days_before(3), search_id="chat-1", user_id="fay"),
            event("not_helpful", at=days_before(3), search_id="chat-1", user_id="fay"),
            answer(CANCELLING[1], None, at=days_before(3), search_id="chat-2", confidence=0.9),
            event("not_helpful", at=days_before(3), document_id="an-article"),  # on an article: no question
        ]
    )

    found = poorly_served(shop.store.events, DEFAULT_TENANT, Window(SINCE, UNTIL), 0.5, 100)

    assert [(q.text, q.asker, q.reasons) for q in found] == [(CANCELLING[0], "fay", {"not_helpful"})]
