"""Conversations through the sync client: answers whole and streamed (tokens, then the stored answer with
its citations), the messages listed, feedback on an answer, and the OpenAI-compatible chat routes."""

from __future__ import annotations

from lore_client import Answer, Lore, Token

from tests.sdk.test_documents import add_articles


def test_a_streamed_answer_comes_as_tokens_then_the_cited_answer(lore: Lore, collection: str) -> None:
    add_articles(lore, collection)
    conversation = lore.conversations.create(title="Refunds")
    events = list(
        lore.conversations.stream(conversation["id"], "How do I get a refund?", collection=collection)
    )
    tokens = [event for event in events if isinstance(event, Token)]
    answers = [event for event in events if isinstance(event, Answer)]
    assert tokens and len(answers) == 1 and events[-1] is answers[0]
    answer = answers[0]
    assert "".join(token.text for token in tokens) == answer.text
    assert answer.citations and answer.citations[0]["title"] == "Refunds"
    assert f"[{answer.citations[0]['marker']}]" in answer.text


def test_a_whole_answer_is_stored_in_its_conversation(lore: Lore, collection: str) -> None:
    add_articles(lore, collection)
    conversation = lore.conversations.create()
    answer = lore.conversations.ask(conversation["id"], "How do I reset my password?", collection=collection)
    assert answer["role"] == "assistant" and answer["citations"]
    messages = list(lore.conversations.messages(conversation["id"], order="oldest", limit=1))
    assert [message["role"] for message in messages] == ["user", "assistant"]
    assert lore.conversations.get(conversation["id"])["message_count"] == 2
    renamed = lore.conversations.update(conversation["id"], title="Passwords")
    assert renamed["title"] == "Passwords"
    feedback = lore.conversations.feedback(conversation["id"], answer["id"], False, reason="too short")
    assert (feedback["kind"], feedback["duplicate"]) == ("not_helpful", False)
    assert conversation["id"] in {c["id"] for c in lore.conversations.list()}


def test_the_openai_compatible_routes_answer_whole_and_streamed(lore: Lore, collection: str) -> None:
    add_articles(lore, collection)
    model = lore.chat.models()[0]["id"]
    assert lore.chat.model(model)["id"] == model
    messages = [{"role": "user", "content": "How do I get a refund?"}]
    options = {"lore": {"collection": collection}}
    whole = lore.chat.completions(model, messages, **options)
    assert "refund" in whole["choices"][0]["message"]["content"].lower()
    chunks = list(lore.chat.stream(model, messages, **options))
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"])
    assert text == whole["choices"][0]["message"]["content"]
