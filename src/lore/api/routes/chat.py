"""OpenAI-compatible chat completions: any OpenAI client or chat UI can use Lore as a model that answers from
the knowledge base. Stateless, as the protocol is: the client sends the conversation, nothing is stored.

Models: `lore` (the configured providers) or `lore/<provider>[,<provider>...]`; the same with `lore+sources`
appends a "Sources:" list of the cited passages to the text, for clients that show only the message text (the
`llm` command, LangChain). `response_format: json_object` makes the content a JSON object of the answer and its
citations; parameters Lore cannot honour (`tools`, a JSON schema) are refused with 422, never ignored."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Request

from lore.answers import Answer, Citation, TextDelta, Turn, provider_names
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
from lore.errors import InvalidInput, LoreError, NotFound
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
WITH_SOURCES = "lore+sources"
Format = Literal["text", "json_object"]
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


class UnsupportedParameter(InvalidInput):
    code = "unsupported_parameter"


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """What a model name asks for: the providers (None: the configured chain) and whether to list sources."""

    providers: list[str] | None
    sources: bool


def model_choice(model: str, answering: Answering) -> ModelChoice:
    """`lore` -> the configured chain; `lore/openai,extractive` -> those providers; `lore+sources...` the same,
    with the sources listed in the text."""
    base, slash, chain = model.partition("/")
    names = provider_names(chain)
    known = base in (MODEL, WITH_SOURCES) and (not slash or names)
    if not known or any(part not in answering.chain.providers for part in names):
        raise ModelNotFound(
            f"model {model!r} not found: use {MODEL!r}, {WITH_SOURCES!r} or {MODEL}/<provider>",
            details={"model": model, "models": model_ids(sorted(answering.chain.providers))},
        )
    return ModelChoice(names or None, base == WITH_SOURCES)


def model_ids(providers: list[str]) -> list[str]:
    return [
        f"{base}{suffix}" for base in (MODEL, WITH_SOURCES) for suffix in ["", *(f"/{p}" for p in providers)]
    ]


@router.get("/models")
def list_models(answering: AnsweringDep, tenant: TenantDep) -> ModelList:
    """The model names `/v1/chat/completions` accepts from this tenant: `lore` and `lore+sources`, each also as
    `.../<provider>` for every provider the tenant may use that can answer now (configured, installed, its
    server reachable)."""
    return ModelList(data=[ModelOut(id=name) for name in model_ids(answering.providers.available(tenant))])


@router.get("/models/{model_id:path}")
def get_model(model_id: str, answering: AnsweringDep, tenant: TenantDep) -> ModelOut:
    """One model of the list; 404 `model_not_found` for any other name."""
    available = model_ids(answering.providers.available(tenant))
    if model_id not in available:
        raise ModelNotFound(f"model {model_id!r} not found", details={"model": model_id, "models": available})
    return ModelOut(id=model_id)


def response_format(body: ChatCompletionIn) -> Format:
    """The content's format; tools and JSON schemas are refused, not ignored."""
    for name, value in (("tools", body.tools), ("functions", body.functions)):
        if value:
            raise UnsupportedParameter(
                f"{name} are not supported: Lore answers from the knowledge base and calls no tools",
                details={"parameter": name},
            )
    kind = body.response_format.type if body.response_format else "text"
    if kind not in ("text", "json_object"):
        raise UnsupportedParameter(
            f"response_format {kind!r} is not supported: use 'json_object' (the answer and its citations) or "
            "'text'",
            details={"parameter": "response_format", "supported": ["text", "json_object"]},
        )
    return "json_object" if kind == "json_object" else "text"


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
    choice = model_choice(body.model, answering)
    reply = Reply(
        response_format(body), choice.sources or bool(options and options.sources), body.answer_limit()
    )
    question = Question(
        body.question(),
        collections=[collection] if isinstance(collection, str) else collection,
        filters=options.filters.to_domain() if options and options.filters else SearchFilters(),
        providers=choice.providers,
        max_tokens=reply.max_tokens,
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
        return _completion(completion_id, created, body.model, answer, prepared, reply)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    chunks = _chunks(
        throttling.counted(principal, answering.stream(prepared)),
        Stream(completion_id, created, body.model, prepared, include_usage, reply),
    )
    return await streamed_answer(slots, chunks, _same, _error_frame, request.receive)


@dataclass(frozen=True, slots=True)
class Reply:
    """How the answer is written into the message: plain or as JSON, with the sources or not, how long."""

    format: Format
    sources: bool
    max_tokens: int | None

    def content(self, answer: Answer) -> str:
        """The whole message content."""
        if self.format == "json_object":
            return json.dumps(_as_json(answer), ensure_ascii=False)
        return answer.text + self.tail(answer)

    def tail(self, answer: Answer) -> str:
        """What follows the streamed text: the sources list, when asked for and there is one."""
        if self.format == "json_object" or not self.sources or not answer.citations:
            return ""
        return "\n\nSources:\n" + "\n".join(_source_line(citation) for citation in answer.citations)

    def finish_reason(self, answer: Answer) -> Literal["stop", "length"]:
        limit = self.max_tokens
        return "length" if limit is not None and answer.usage.completion_tokens >= limit else "stop"


def _source_line(citation: Citation) -> str:
    place = " › ".join([citation.title, *citation.heading_path]) if citation.title else citation.source
    return (
        f"[{citation.marker}] {place} ({citation.source})"
        if citation.title
        else f"[{citation.marker}] {place}"
    )


def _as_json(answer: Answer) -> dict[str, Any]:
    citations = [
        {key: value for key, value in item.items() if key != "text"} for item in citations_of(answer)
    ]
    return {"answer": answer.text, "citations": citations, "abstained": answer.abstained}


@dataclass(frozen=True, slots=True)
class Stream:
    completion_id: str
    created: int
    model: str
    prepared: Grounding
    include_usage: bool
    reply: Reply

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return chunk(self.completion_id, self.created, self.model, delta, finish)


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
    completion_id: str, created: int, model: str, answer: Answer, prepared: Grounding, reply: Reply
) -> ChatCompletionOut:
    return ChatCompletionOut(
        id=completion_id,
        created=created,
        model=model,
        choices=[
            Choice(
                message=AssistantMessage(content=reply.content(answer)),
                finish_reason=reply.finish_reason(answer),
            )
        ],
        usage=_usage(answer),
        citations=[CitationOut(**citation) for citation in citations_of(answer)],
        lore=_info(answer, prepared),
    )


def _chunks(events: Iterator[TextDelta | Answer], stream: Stream) -> Iterator[bytes]:
    """OpenAI's stream: a role chunk, content chunks, a last chunk with the finish reason (and Lore's
    citations), a usage chunk when asked for, then `[DONE]`. The answer's first event is read before the role
    chunk, so a failure before any text is still a plain error response. As JSON, the content comes whole in
    one chunk at the end; the sources list, when asked for, in a chunk after the text."""
    first = next(events)
    reply = stream.reply
    yield frame(stream.chunk({"role": "assistant", "content": ""}))
    for event in _chain(first, events):
        if isinstance(event, TextDelta):
            if reply.format == "text":
                yield frame(stream.chunk({"content": event.text}))
            continue
        assert isinstance(event, Answer)
        rest = reply.content(event) if reply.format == "json_object" else reply.tail(event)
        if rest:
            yield frame(stream.chunk({"content": rest}))
        last = stream.chunk({}, reply.finish_reason(event))
        last["citations"] = [CitationOut(**c).model_dump(mode="json") for c in citations_of(event)]
        last["lore"] = _info(event, stream.prepared).model_dump(mode="json")
        yield frame(last)
        if stream.include_usage:
            yield frame({**stream.chunk({}), "choices": [], "usage": _usage(event).model_dump()})
    yield DONE


def _chain(first: object, rest: Iterator[TextDelta | Answer]) -> Iterator[object]:
    yield first
    yield from rest


def _same(data: bytes) -> bytes:
    return data


def _error_frame(error: LoreError) -> bytes:
    return frame(error_data(error))
