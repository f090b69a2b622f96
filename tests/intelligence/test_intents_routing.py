"""Conversations follow the tenant's intent routes once it has an active intent model: a refund question
searches the billing collection, an escalation intent marks the answer, a canned reply answers alone."""

from __future__ import annotations

import pytest

from lore.answers import TextDelta
from lore.conversations import Answering, StoredTurn, open_answering
from lore.conversations.answering import Question
from lore.intelligence.intents.versions import train_version
from lore.service import Lore

REFUNDS = "# Refunds\n\nA refund reaches your card within five business days of the return."
SHOP = "# Shop refunds\n\nA refund in our shops needs the receipt of the order you return."


@pytest.fixture
def answering(intent_lore: Lore, intent_csv: bytes) -> Answering:
    intent_lore.add_text(title="Refunds", text=REFUNDS, source="billing/refunds.md", collection="billing")
    intent_lore.add_text(title="Shop refunds", text=SHOP, source="shop/refunds.md", tags=["shop"])
    train_version(
        intent_lore.store,
        intent_lore.embedder,
        intent_lore.settings,
        "default",
        intent_csv,
        "default",
        activate=True,
    )
    return open_answering(intent_lore)


def ask(answering: Answering, question: str) -> tuple[list[str], StoredTurn]:
    return ask_in(answering, "default", question)


def ask_in(answering: Answering, tenant: str, question: str) -> tuple[list[str], StoredTurn]:
    conversation = answering.records.create(tenant)
    events = list(answering.answer(answering.prepare(tenant, conversation.id, Question(question))))
    turn = events[-1]
    assert isinstance(turn, StoredTurn)
    return [e.text for e in events if isinstance(e, TextDelta)], turn


def test_without_a_route_the_question_searches_everywhere_and_records_its_intent(
    answering: Answering,
) -> None:
    conversation = answering.records.create("default")
    grounding = answering.prepare("default", conversation.id, Question("how do I get a refund for my order"))
    assert {hit.chunk.collection for hit in grounding.retrieved} == {"billing", "default"}
    assert grounding.routing is not None and grounding.routing.classification.intent == "refund_request"


def test_a_refund_question_searches_the_billing_collection(intent_lore: Lore, answering: Answering) -> None:
    intent_lore.store.intent_routes.set("default", "refund_request", collection="billing")
    conversation = answering.records.create("default")
    grounding = answering.prepare("default", conversation.id, Question("how do I get a refund for my order"))
    assert {hit.chunk.collection for hit in grounding.retrieved} == {"billing"}

    _, turn = ask(answering, "how do I get a refund for my order")
    meta = turn.answer.metadata
    assert meta["intent"]["intent"] == "refund_request" and meta["intent"]["route"]["collection"] == "billing"
    assert meta["escalate"] is False


def test_a_route_with_tags_narrows_the_search_to_them(intent_lore: Lore, answering: Answering) -> None:
    intent_lore.store.intent_routes.set("default", "refund_request", tags=["shop"])
    conversation = answering.records.create("default")
    grounding = answering.prepare("default", conversation.id, Question("please refund the shoes"))
    assert [hit.chunk.title for hit in grounding.retrieved] == ["Shop refunds"]


def test_an_escalation_intent_marks_the_answer_and_a_canned_reply_answers_alone(
    intent_lore: Lore, answering: Answering
) -> None:
    reply = "A colleague will call you back shortly."
    intent_lore.store.intent_routes.set("default", "talk_to_human", reply=reply, escalate=True)
    deltas, turn = ask(answering, "I need a human agent for my subscription")
    assert deltas == [reply] and turn.answer.content == reply and turn.answer.citations == []
    assert turn.answer.metadata["escalate"] is True
    assert turn.answer.metadata["intent"]["intent"] == "talk_to_human"

    _, other = ask(answering, "I lost my card at the airport")
    assert other.answer.metadata["escalate"] is False


def test_another_tenant_without_an_active_model_is_not_routed(
    intent_lore: Lore, answering: Answering
) -> None:
    intent_lore.store.intent_routes.set("other", "refund_request", collection="billing")
    conversation = answering.records.create("other")
    grounding = answering.prepare("other", conversation.id, Question("how do I get a refund for my order"))
    assert grounding.routing is None
    _, turn = ask_in(answering, "other", "how do I get a refund for my order")
    assert turn.answer.metadata["intent"] is None and turn.answer.metadata["escalate"] is False
