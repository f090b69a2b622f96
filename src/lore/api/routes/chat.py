"""OpenAI-compatible chat completions: any OpenAI client or chat UI can use Lore as a model that answers from
the knowledge base. Stateless, as the protocol is: the client sends the conversation, nothing is stored."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request

from lore.answers import Answer, TextDelta, Turn, provider_names
from lore.api.auth import PrincipalDep
from lore.api.deps import AnsweringDep, AnswerSlotsDep, SearchLimiterDep, TenantDep, ThrottlingDep
from lore.api.errors import ERROR_RESPONSES
from lore.api.streaming import (
    error_data,
    event_stream,
    frame,
    json_data,
    schema_ref,
    sse_event,
    streamed_answer,
    whole_answer,
)
from lore.conversations import Answering, Grounding, Question
from lore.conversations.answering import citations_of
from lore.errors import LoreError, NotFound
from lore.models import SearchFilters
from lore.security.access import ask_as
from lore.wire.conversations import CitationOut
from lore.wire.openai import (
    AssistantMessage,
    ChatCompletionIn,
    ChatCompletionOut,
    Choice,
    CompletionUsage,
    LoreAnswerInfo,
    ModelList,
    ModelOut,
    chunk,
)

router = APIRouter(prefix="/v1", tags=["openai-compatible"], responses=ERROR_RESPONSES)
MODEL = "lore"
DONE = b"data: [DONE]\n\n"
CHUNK = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "chat.completion.chunk"},
        "created": {"type": "integer"},
        "model": {"type": "string"},
        "choices": {"type": "array", "items": {"type": "object"}},
        "usage": schema_ref("CompletionUsage"),
        "citations": {"type": "array", "items": schema_ref("CitationOut")},
        "lore": schema_ref("LoreAnswerInfo"),
    },
    "required": ["id", "object", "created", "model", "choices"],
}
STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A chat completion; with `stream: true`, `chat.completion.chunk` events ending with "
        "`data: [DONE]`, the last chunk carrying `citations` and `lore` (an error after the first chunk comes "
        "as an event of the error shape).",
        "content": event_stream(
            sse_event(None, json_data(CHUNK)),
            sse_event(None, json_data(schema_ref("ErrorOut"))),
            sse_event(None, {"const": "[DONE]"}),
        ),
    }
}


class ModelNotFound(NotFound):
    code = "model_not_found"


def providers_of(model: str, answering: Answering) -> list[str] | None:
    """`lore` -> None (the configured chain); `lore/openai,extractive` -> those providers."""
    if model == MODEL:
        return None
    name, _, chain = model.partition("/")
    names = provider_names(chain)
    if name != MODEL or not names or any(part not in answering.chain.providers for part in names):
        raise ModelNotFound(
            f"model {model!r} not found: use {MODEL!r} or {MODEL}/<provider>",
            details={"model": model, "models": model_ids(sorted(answering.chain.providers))},
        )
    return names


def model_ids(providers: list[str]) -> list[str]:
    return [MODEL, *(f"{MODEL}/{name}" for name in providers)]


@router.get("/models")
def list_models(answering: AnsweringDep, tenant: TenantDep) -> ModelList:
    """The model names `/v1/chat/completions` accepts from this tenant: `lore`, and `lore/<provider>` for each
    provider the tenant may use."""
    allowed = sorted(answering.providers.allowed(tenant))
    return ModelList(data=[ModelOut(id=name) for name in model_ids(allowed)])


@router.post("/chat/completions", response_model=ChatCompletionOut, responses=STREAM_RESPONSE)
async def chat_completions(
    body: ChatCompletionIn,
    request: Request,
    answering: AnsweringDep,
    principal: PrincipalDep,
    limiter: SearchLimiterDep,
    slots: AnswerSlotsDep,
    throttling: ThrottlingDep,
) -> Any:
    """Answer the last user message from the knowledge base, citing passages as [n], grounded only in what
    the caller may read."""
    options = body.lore
    collection = options.collection if options else None
    question = Question(
        body.question(),
        collections=[collection] if isinstance(collection, str) else collection,
        filters=options.filters.to_domain() if options and options.filters else SearchFilters(),
        providers=providers_of(body.model, answering),
    )
    question = ask_as(principal, question)
    history = [Turn(m.role, m.text) for m in body.messages[:-1] if m.role in ("user", "assistant") and m.text]
    prepared = await anyio.to_thread.run_sync(
        answering.ground, principal.tenant_id, question, history, limiter=limiter
    )
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if not body.stream:
        events = throttling.counted(principal, answering.stream(prepared))
        answer = await whole_answer(slots, events, Answer, request.receive)
        return _completion(completion_id, created, body.model, answer, prepared)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    chunks = _chunks(
        throttling.counted(principal, answering.stream(prepared)),
        completion_id,
        created,
        body.model,
        prepared,
        include_usage,
    )
    return await streamed_answer(slots, chunks, _same, _error_frame, request.receive)


def _info(answer: Answer, prepared: Grounding) -> LoreAnswerInfo:
    return LoreAnswerInfo(
        abstained=answer.abstained,
        provider=answer.usage.provider,
        retrieval_query=prepared.retrieval_query,
        failed_attempts=[{"provider": a.provider, "error": a.error} for a in answer.failed_attempts],
        search_id=prepared.search_id,
    )


def _usage(answer: Answer) -> CompletionUsage:
    usage = answer.usage
    return CompletionUsage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.prompt_tokens + usage.completion_tokens,
    )


def _completion(
    completion_id: str, created: int, model: str, answer: Answer, prepared: Grounding
) -> ChatCompletionOut:
    return ChatCompletionOut(
        id=completion_id,
        created=created,
        model=model,
        choices=[Choice(message=AssistantMessage(content=answer.text))],
        usage=_usage(answer),
        citations=[CitationOut(**citation) for citation in citations_of(answer)],
        lore=_info(answer, prepared),
    )


def _chunks(
    events: Iterator[TextDelta | Answer],
    completion_id: str,
    created: int,
    model: str,
    prepared: Grounding,
    include_usage: bool,
) -> Iterator[bytes]:
    """OpenAI's stream: a role chunk, content chunks, a last chunk with the finish reason (and Lore's
    citations), a usage chunk when asked for, then `[DONE]`. The answer's first event is read before the role
    chunk, so a failure before any text is still a plain error response."""
    first = next(events)
    yield frame(chunk(completion_id, created, model, {"role": "assistant", "content": ""}))
    for event in _chain(first, events):
        if isinstance(event, TextDelta):
            yield frame(chunk(completion_id, created, model, {"content": event.text}))
            continue
        assert isinstance(event, Answer)
        last = chunk(completion_id, created, model, {}, "stop")
        last["citations"] = [CitationOut(**c).model_dump(mode="json") for c in citations_of(event)]
        last["lore"] = _info(event, prepared).model_dump(mode="json")
        yield frame(last)
        if include_usage:
            usage = {
                **chunk(completion_id, created, model, {}),
                "choices": [],
                "usage": _usage(event).model_dump(),
            }
            yield frame(usage)
    yield DONE


def _chain(first: object, rest: Iterator[TextDelta | Answer]) -> Iterator[object]:
    yield first
    yield from rest


def _same(data: bytes) -> bytes:
    return data


def _error_frame(error: LoreError) -> bytes:
    return frame(error_data(error))
