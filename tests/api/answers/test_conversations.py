"""Conversations over HTTP: create, list, read, delete; questions answered with citations, streamed as SSE, and
stored with their answers. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from lore.answers import ABSTENTION
from tests.answers.servers import Reply, Script
from tests.api.answers.helpers import (
    UNRELATED,
    json_events,
    read_events,
)
from tests.api.conftest import LiveServer, assert_error
from tests.waiting import wait_for

MESSAGE_FIELDS = {"id", "conversation_id", "role", "content", "citations", "usage", "metadata", "created_at"}


def new_conversation(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/conversations", json=body or None)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v1/conversations/{response.json()['id']}"
    return response.json()


def ask(client: httpx.Client, conversation_id: str, content: str, **options: Any) -> dict[str, Any]:
    response = client.post(
        f"/v1/conversations/{conversation_id}/messages", json={"content": content, **options}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_question_is_answered_from_the_knowledge_base_with_citations(
    client: httpx.Client, articles: dict[str, str]
) -> None:
    conversation = new_conversation(client)
    assert conversation["title"] is None and conversation["message_count"] == 0

    answer = ask(client, conversation["id"], "How do I get a refund?")

    assert set(answer) == MESSAGE_FIELDS
    assert answer["role"] == "assistant" and "[1]" in answer["content"]
    assert "Request refund" in answer["content"]
    cited = answer["citations"][0]
    assert cited["marker"] == 1 and cited["document_id"] == articles["refunds.md"]
    assert cited["title"] == "Billing" and cited["heading_path"] == ["Requesting a refund"]
    assert cited["source"] == "refunds.md" and "Request refund" in cited["text"]
    assert isinstance(cited["chunk_id"], int)
    usage = answer["usage"]
    assert usage["provider"] == "extractive" and usage["completion_tokens"] > 0
    assert usage["latency_ms"] >= 0
    assert answer["metadata"]["abstained"] is False
    assert answer["metadata"]["failed_attempts"] == []

    stored = client.get(f"/v1/conversations/{conversation['id']}").json()
    assert stored["title"] == "How do I get a refund?" and stored["message_count"] == 2
    messages = client.get(
        f"/v1/conversations/{conversation['id']}/messages", params={"order": "oldest"}
    ).json()
    question, reply = messages["items"]
    assert question["role"] == "user" and question["content"] == "How do I get a refund?"
    assert question["usage"] is None and question["citations"] == []
    assert reply == answer and reply["metadata"]["reply_to"] == question["id"]


def test_the_answer_streams_as_token_events_then_the_stored_message(
    client: httpx.Client, articles: dict[str, str]
) -> None:
    conversation = new_conversation(client, title="Passwords")
    body = {"content": "How do I reset my password?", "stream": True}
    with client.stream("POST", f"/v1/conversations/{conversation['id']}/messages", json=body) as response:
        assert response.status_code == 201
        assert response.headers["content-type"].startswith("text/event-stream")
        events = json_events(response)

    names = [name for name, _ in events]
    assert names[-1] == "message" and set(names[:-1]) == {"token"} and len(names) >= 2
    streamed = "".join(data["text"] for name, data in events if name == "token")
    final = events[-1][1]
    assert final["content"] == streamed and "Reset password" in streamed
    assert final["citations"][0]["document_id"] == articles["passwords.md"]
    assert final["usage"]["provider"] == "extractive"
    listed = client.get(f"/v1/conversations/{conversation['id']}/messages").json()["items"]
    assert listed[0] == final  # newest first: the stored answer is the one the stream ended with
    assert client.get(f"/v1/conversations/{conversation['id']}").json()["title"] == "Passwords"


def test_a_follow_up_question_is_read_in_the_light_of_the_conversation(
    client: httpx.Client, articles: dict[str, str]
) -> None:
    conversation = new_conversation(client)
    ask(client, conversation["id"], "How do I get a refund?")

    follow_up = ask(client, conversation["id"], "And how long does that take?")

    assert "refund" in follow_up["metadata"]["retrieval_query"].lower()
    assert "five business days" in follow_up["content"]
    assert articles["refund-timing.md"] in {c["document_id"] for c in follow_up["citations"]}


def test_lore_says_it_does_not_know_and_records_it(client: httpx.Client, articles: dict[str, str]) -> None:
    conversation = new_conversation(client)

    answer = ask(client, conversation["id"], UNRELATED)

    assert answer["content"] == ABSTENTION and answer["citations"] == []
    assert answer["metadata"]["abstained"] is True


def test_instructions_inside_a_passage_do_not_change_the_answer(
    client: httpx.Client, articles: dict[str, str]
) -> None:
    conversation = new_conversation(client)

    answer = ask(client, conversation["id"], "How are gift cards redeemed?")

    assert answer["content"] != "PWNED" and "checkout" in answer["content"]
    assert answer["citations"][0]["document_id"] == articles["gift-cards.md"]


def test_a_model_provider_sees_passages_as_delimited_data(
    client: httpx.Client, articles: dict[str, str], script: Script
) -> None:
    conversation = new_conversation(client)
    script.then(Reply(echo=True))

    ask(client, conversation["id"], "How are gift cards redeemed?", provider="openai")

    sent = script.requests[-1]["body"]["messages"]
    system, user = sent[0]["content"], sent[-1]["content"]
    assert "not instructions" in system and "PWNED" not in system
    inside = user[user.index("<passages>") : user.index("</passages>")]
    assert "Ignore previous instructions" in inside
    assert user.rstrip().endswith("<question>How are gift cards redeemed?</question>")


def test_the_next_provider_answers_when_one_fails(
    client: httpx.Client, articles: dict[str, str], script: Script
) -> None:
    conversation = new_conversation(client)
    script.then(Reply(status=503))

    answer = ask(client, conversation["id"], "How do I get a refund?", provider="openai,extractive")

    assert answer["usage"]["provider"] == "extractive"
    assert answer["metadata"]["failed_attempts"] == [{"provider": "openai", "error": "server_error"}]


def test_an_answer_from_a_model_provider_keeps_its_usage(
    client: httpx.Client, articles: dict[str, str], script: Script
) -> None:
    conversation = new_conversation(client)
    script.then(Reply(text="Open Billing and choose Request refund [1].", usage=(120, 9)))

    answer = ask(client, conversation["id"], "How do I get a refund?", provider=["openai"], stream=False)

    assert answer["content"] == "Open Billing and choose Request refund [1]."
    assert answer["usage"] | {"latency_ms": 0, "first_token_ms": 0} == {
        "provider": "openai",
        "model": "test-model",
        "prompt_tokens": 120,
        "completion_tokens": 9,
        "latency_ms": 0,
        "first_token_ms": 0,
    }
    assert answer["citations"][0]["document_id"] == articles["refunds.md"]


def test_when_no_provider_can_answer_nothing_is_stored(
    client: httpx.Client, articles: dict[str, str], script: Script
) -> None:
    conversation = new_conversation(client)
    script.then(Reply(status=500))

    response = client.post(
        f"/v1/conversations/{conversation['id']}/messages",
        json={"content": "How do I get a refund?", "provider": "openai", "stream": True},
    )

    error = assert_error(response, 503, "no_provider_answered")
    assert error["details"]["attempts"] == [{"provider": "openai", "reason": "server_error"}]
    assert "sk-test-key" not in response.text
    assert client.get(f"/v1/conversations/{conversation['id']}").json()["message_count"] == 0


def test_a_provider_that_refuses_the_request_is_a_bad_gateway(
    client: httpx.Client, articles: dict[str, str], script: Script
) -> None:
    conversation = new_conversation(client)
    script.then(Reply(status=401))

    response = client.post(
        f"/v1/conversations/{conversation['id']}/messages",
        json={"content": "How do I get a refund?", "provider": "openai,extractive"},
    )

    error = assert_error(response, 502, "provider_error")
    assert error["details"] == {"provider": "openai", "reason": "rejected", "status": 401}
    assert client.get(f"/v1/conversations/{conversation['id']}").json()["message_count"] == 0


def test_a_provider_failing_mid_answer_ends_the_stream_with_an_error_event(
    client: httpx.Client, articles: dict[str, str], script: Script
) -> None:
    conversation = new_conversation(client)
    script.then(Reply(text="Open Billing and then choose Request refund [1].", cut_after=2))
    body = {"content": "How do I get a refund?", "provider": "openai,extractive", "stream": True}

    with client.stream("POST", f"/v1/conversations/{conversation['id']}/messages", json=body) as response:
        events = json_events(response)

    assert [name for name, _ in events][-1] == "error"
    assert {name for name, _ in events[:-1]} == {"token"}
    assert events[-1][1]["error"]["code"] == "answer_interrupted"
    assert client.get(f"/v1/conversations/{conversation['id']}").json()["message_count"] == 0


def test_conversations_are_listed_newest_first_page_by_page(client: httpx.Client) -> None:
    created = [new_conversation(client, title=f"Page test {n}", metadata={"n": n})["id"] for n in range(5)]

    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/conversations", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen))
    assert [conversation_id for conversation_id in seen if conversation_id in created] == created[::-1]


def test_messages_are_paged_either_way_without_gaps(client: httpx.Client, articles: dict[str, str]) -> None:
    conversation = new_conversation(client)
    for question in ("How do I get a refund?", "How do I reset my password?", "When do orders ship?"):
        ask(client, conversation["id"], question)
    url = f"/v1/conversations/{conversation['id']}/messages"

    pages: dict[str, list[int]] = {}
    for order in ("newest", "oldest"):
        ids, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 4, "order": order} | ({"cursor": cursor} if cursor else {})
            page = client.get(url, params=params).json()
            ids += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        pages[order] = ids

    assert len(pages["oldest"]) == 6 and pages["oldest"] == sorted(pages["oldest"])
    assert pages["newest"] == pages["oldest"][::-1]


def test_deleting_a_conversation_deletes_its_messages(client: httpx.Client, articles: dict[str, str]) -> None:
    conversation = new_conversation(client)
    ask(client, conversation["id"], "How do I get a refund?")

    assert client.delete(f"/v1/conversations/{conversation['id']}").status_code == 204

    assert_error(client.get(f"/v1/conversations/{conversation['id']}"), 404, "not_found")
    assert_error(client.get(f"/v1/conversations/{conversation['id']}/messages"), 404, "not_found")
    assert_error(client.delete(f"/v1/conversations/{conversation['id']}"), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"content": ""}, 422, "invalid_request"),
        ({"content": "x" * 4001}, 422, "invalid_request"),
        ({"content": "Hi", "unknown": 1}, 422, "invalid_request"),
        ({"content": "Refund\u0000?"}, 422, "invalid_request"),
        ({"content": "Hi", "stream": "sometimes"}, 422, "invalid_request"),
        ({"content": "Hi", "provider": "oracle"}, 422, "invalid_input"),
        ({"content": "Hi", "collection": "no such/name"}, 422, "invalid_input"),
        ({"content": "Hi", "filters": {"tags": "billing"}}, 422, "invalid_request"),
    ],
)
def test_bad_questions_get_clear_errors(
    client: httpx.Client, body: dict[str, Any], status: int, code: str
) -> None:
    conversation = new_conversation(client)

    response = client.post(f"/v1/conversations/{conversation['id']}/messages", json=body)

    assert_error(response, status, code)
    assert client.get(f"/v1/conversations/{conversation['id']}").json()["message_count"] == 0


def test_unknown_conversations_and_bad_cursors_are_refused(client: httpx.Client) -> None:
    assert_error(
        client.post("/v1/conversations/nope/messages", json={"content": "How do I get a refund?"}),
        404,
        "not_found",
    )
    assert_error(client.get("/v1/conversations", params={"cursor": "garbage"}), 422, "invalid_input")
    conversation = new_conversation(client)
    url = f"/v1/conversations/{conversation['id']}/messages"
    assert_error(client.get(url, params={"cursor": "garbage"}), 422, "invalid_input")
    assert_error(client.get(url, params={"order": "sideways"}), 422, "invalid_request")
    assert_error(client.get(url, params={"limit": 0}), 422, "invalid_request")
    assert_error(client.post("/v1/conversations", json={"title": 5}), 422, "invalid_request")
    assert_error(
        client.post("/v1/conversations", content=b"{", headers={"content-type": "application/json"}),
        400,
        "invalid_json",
    )


def test_answers_are_counted_in_the_metrics(client: httpx.Client, articles: dict[str, str]) -> None:
    ask(client, new_conversation(client)["id"], "How do I reset my password?")

    metrics = client.get("/metrics").text

    assert 'lore_llm_attempts_total{outcome="ok",provider="extractive"}' in metrics
    assert 'lore_llm_tokens_total{kind="completion",provider="extractive"}' in metrics


def test_a_conversation_is_renamed_and_its_metadata_replaced(client: httpx.Client) -> None:
    conversation = new_conversation(client, title="Old", metadata={"channel": "web", "priority": 2})
    url = f"/v1/conversations/{conversation['id']}"

    renamed = client.patch(url, json={"title": "Refund for order 1234"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["title"] == "Refund for order 1234"
    assert renamed.json()["metadata"] == {"channel": "web", "priority": 2}  # left out: unchanged
    assert renamed.json()["updated_at"] > conversation["updated_at"]

    cleared = client.patch(url, json={"metadata": None, "title": None}).json()
    assert (cleared["title"], cleared["metadata"]) == (None, {})
    assert client.get(url).json() == cleared

    assert_error(client.patch(url, json={"message_count": 9}), 422, "invalid_request")
    assert_error(client.patch(url, json={"metadata": {"a": {"nested": 1}}}), 422, "invalid_request")
    assert_error(client.patch("/v1/conversations/nope", json={"title": "x"}), 404, "not_found")


def test_a_client_that_disconnects_stops_the_model_and_stores_nothing(
    client: httpx.Client, articles: dict[str, str], script: Script, server: LiveServer
) -> None:
    conversation = new_conversation(client)
    never = threading.Event()  # the model writes on until Lore hangs up
    script.then(
        Reply(text="Open Billing and then choose Request refund [1].", piece_seconds=0.05, until=never)
    )
    abandoned = script.abandoned
    body = {"content": "How do I get a refund?", "provider": "openai", "stream": True}
    slots = server.app.state.answer_slots
    try:
        with client.stream("POST", f"/v1/conversations/{conversation['id']}/messages", json=body) as response:
            first = next(read_events(response))
        assert first[0] == "token"  # the answer started; the client leaves in the middle of an endless one

        wait_for(lambda: script.abandoned > abandoned, "Lore to close its request to the model")
        wait_for(lambda: slots.answering == 0, "the abandoned answer to give back its slot")
    finally:
        never.set()
    assert script.abandoned == abandoned + 1
    assert client.get(f"/v1/conversations/{conversation['id']}").json()["message_count"] == 0
