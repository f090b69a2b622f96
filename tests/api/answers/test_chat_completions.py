"""The OpenAI-compatible endpoint, driven by the official OpenAI SDK as any client would drive it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from lore.answers import ABSTENTION
from tests.answers.servers import Reply, Script
from tests.api.answers.helpers import (
    UNRELATED,
    json_events,
)
from tests.api.conftest import LiveServer, assert_error
from tests.keys import mint_key


@pytest.fixture(scope="module")
def sdk(server: LiveServer) -> Iterator[openai.OpenAI]:
    key = mint_key(server.lore.store)
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0) as client:
        yield client


def test_an_openai_client_gets_a_cited_answer(sdk: openai.OpenAI, articles: dict[str, str]) -> None:
    completion = sdk.chat.completions.create(
        model="lore", messages=[{"role": "user", "content": "How do I reset my password?"}]
    )

    assert completion.object == "chat.completion" and completion.model == "lore"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert "Reset password" in (choice.message.content or "") and "[1]" in (choice.message.content or "")
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    extra: dict[str, Any] = completion.model_extra or {}
    assert extra["citations"][0]["document_id"] == articles["passwords.md"]
    assert extra["citations"][0]["marker"] == 1
    assert extra["lore"]["abstained"] is False and extra["lore"]["provider"] == "extractive"


def test_the_answer_streams_in_the_openai_chunk_format(sdk: openai.OpenAI, articles: dict[str, str]) -> None:
    stream = sdk.chat.completions.create(
        model="lore/extractive",
        messages=[{"role": "user", "content": "How do I get a refund?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert "Request refund" in text and "[1]" in text
    last = next(chunk for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason)
    assert last.choices[0].finish_reason == "stop"
    citations = (last.model_extra or {})["citations"]
    assert citations[0]["document_id"] == articles["refunds.md"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (
        chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + chunks[-1].usage.completion_tokens
    )


def test_the_stream_ends_with_done(client: httpx.Client, articles: dict[str, str]) -> None:
    body = {
        "model": "lore",
        "stream": True,
        "messages": [{"role": "user", "content": "How do I get a refund?"}],
    }
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"


def test_earlier_messages_make_a_follow_up_understood(sdk: openai.OpenAI, articles: dict[str, str]) -> None:
    completion = sdk.chat.completions.create(
        model="lore",
        messages=[
            {"role": "system", "content": "You are a pirate."},
            {"role": "user", "content": "How do I get a refund?"},
            {"role": "assistant", "content": "Open Billing and choose Request refund [1]."},
            {"role": "user", "content": [{"type": "text", "text": "And how long does that take?"}]},
        ],
    )

    assert "five business days" in (completion.choices[0].message.content or "")
    assert "refund" in (completion.model_extra or {})["lore"]["retrieval_query"].lower()


def test_nothing_relevant_means_i_do_not_know(sdk: openai.OpenAI, articles: dict[str, str]) -> None:
    completion = sdk.chat.completions.create(model="lore", messages=[{"role": "user", "content": UNRELATED}])

    assert completion.choices[0].message.content == ABSTENTION
    assert (completion.model_extra or {})["citations"] == []
    assert (completion.model_extra or {})["lore"]["abstained"] is True


def test_a_model_names_a_provider_chain(sdk: openai.OpenAI, articles: dict[str, str], script: Script) -> None:
    script.then(Reply(status=429, headers={"Retry-After": "0"}))

    completion = sdk.chat.completions.create(
        model="lore/openai,extractive", messages=[{"role": "user", "content": "How do I get a refund?"}]
    )

    lore = (completion.model_extra or {})["lore"]
    assert lore["provider"] == "extractive"
    assert lore["failed_attempts"] == [{"provider": "openai", "error": "rate_limited"}]


def test_models_are_listed(sdk: openai.OpenAI) -> None:
    names = {model.id for model in sdk.models.list()}

    # what the tenant may use and can answer, each also with its sources listed in the text
    assert names == {
        f"{base}{suffix}" for base in ("lore", "lore+sources") for suffix in ("", "/extractive", "/openai")
    }
    assert sdk.models.retrieve("lore").id == "lore"
    assert sdk.models.retrieve("lore+sources/openai").id == "lore+sources/openai"
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("gpt-4o")


def test_lore_sources_appends_the_sources_to_the_text(sdk: openai.OpenAI, articles: dict[str, str]) -> None:
    question = [{"role": "user", "content": "How do I reset my password?"}]
    plain = sdk.chat.completions.create(model="lore+sources", messages=question)
    text = plain.choices[0].message.content or ""
    assert "\n\nSources:\n[1] " in text and "passwords.md" in text
    stream = sdk.chat.completions.create(model="lore+sources", messages=question, stream=True)
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert streamed == text
    flagged = sdk.chat.completions.create(
        model="lore", messages=question, extra_body={"lore": {"sources": True}}
    )
    assert flagged.choices[0].message.content == text


def test_json_object_is_the_answer_and_its_citations(sdk: openai.OpenAI, articles: dict[str, str]) -> None:
    completion = sdk.chat.completions.create(
        model="lore",
        messages=[{"role": "user", "content": "How do I reset my password?"}],
        response_format={"type": "json_object"},
    )
    content = json.loads(completion.choices[0].message.content or "")
    assert content["abstained"] is False and "[1]" in content["answer"]
    assert content["citations"][0]["document_id"] == articles["passwords.md"]


def test_what_lore_cannot_honour_is_refused(client: httpx.Client) -> None:
    ask = {"model": "lore", "messages": [{"role": "user", "content": "How do I get a refund?"}]}
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {}}}
    error = assert_error(
        client.post("/v1/chat/completions", json={**ask, "tools": [tool]}), 422, "unsupported_parameter"
    )
    assert error["details"] == {"parameter": "tools"}
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
    response = client.post("/v1/chat/completions", json={**ask, "response_format": schema})
    assert assert_error(response, 422, "unsupported_parameter")["details"]["parameter"] == "response_format"


def test_max_tokens_bounds_the_answer(sdk: openai.OpenAI, articles: dict[str, str]) -> None:
    completion = sdk.chat.completions.create(
        model="lore/extractive",
        messages=[{"role": "user", "content": "How do I get a refund?"}],
        max_tokens=4,
    )
    assert len((completion.choices[0].message.content or "").split()) == 4
    assert completion.choices[0].finish_reason == "length"


def test_a_mid_stream_failure_reaches_the_client_as_an_error(
    client: httpx.Client, articles: dict[str, str], script: Script
) -> None:
    script.then(Reply(text="Open Billing and then choose Request refund [1].", cut_after=2))
    body = {"model": "lore/openai", "stream": True, "messages": [{"role": "user", "content": "Refund?"}]}

    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        events = json_events(response)

    assert events[-1][1]["error"]["code"] == "answer_interrupted"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}, 404, "model_not_found"),
        ({"model": "lore/oracle", "messages": [{"role": "user", "content": "Hi"}]}, 404, "model_not_found"),
        ({"model": "lore", "messages": []}, 422, "invalid_request"),
        ({"model": "lore", "messages": [{"role": "assistant", "content": "Hi"}]}, 422, "invalid_input"),
        ({"model": "lore", "messages": [{"role": "user", "content": "  "}]}, 422, "invalid_input"),
        ({"model": "lore", "messages": [{"role": "user", "content": "Refund\u0000?"}]}, 422, "invalid_input"),
        ({"model": "lore", "messages": [{"role": "user", "content": "x" * 4001}]}, 422, "invalid_input"),
        ({"model": "lore", "messages": [{"role": "wizard", "content": "Hi"}]}, 422, "invalid_request"),
        ({"model": "lore", "n": 2, "messages": [{"role": "user", "content": "Hi"}]}, 422, "invalid_request"),
        ({"messages": [{"role": "user", "content": "Hi"}]}, 422, "invalid_request"),
    ],
)
def test_bad_requests_get_clear_errors(
    client: httpx.Client, body: dict[str, Any], status: int, code: str
) -> None:
    assert_error(client.post("/v1/chat/completions", json=body), status, code)


def test_openai_parameters_lore_does_not_use_are_accepted(
    client: httpx.Client, articles: dict[str, str]
) -> None:
    body = {
        "model": "lore",
        "messages": [{"role": "user", "content": "How do I reset my password?"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 100,
        "user": "customer-42",
        "lore": {"collection": "default", "filters": {"tags": []}},
    }

    response = client.post("/v1/chat/completions", json=body)

    assert response.status_code == 200, response.text
    assert "Reset password" in response.json()["choices"][0]["message"]["content"]
