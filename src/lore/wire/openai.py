"""Wire models of the OpenAI-compatible endpoints (`/v1/chat/completions`, `/v1/models`).

Requests ignore the OpenAI parameters that cannot change a grounded answer (temperature, top_p, seed ...), so any
OpenAI client works unchanged; those that would (`tools`, `response_format`, `max_tokens`) are honoured or refused.
The answer's citations travel in the extra `citations` field and as [n] markers in the text, and with the model
`lore+sources` (or `lore.sources`) as a "Sources:" list at the end of the text, for clients that drop extra fields.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lore.errors import InvalidInput
from lore.wire.conversations import MAX_QUESTION_CHARS, CitationOut
from lore.wire.schemas import MAX_COLLECTIONS, FiltersIn, Input, Name

MAX_CHAT_MESSAGES = 200
MAX_MESSAGE_CHARS = 32_000


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ContentPart(Lenient):
    type: Annotated[str, StringConstraints(max_length=64)]
    text: Annotated[str, StringConstraints(max_length=MAX_MESSAGE_CHARS)] | None = None


class ChatMessageIn(Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: (
        Annotated[str, StringConstraints(max_length=MAX_MESSAGE_CHARS)]
        | Annotated[list[ContentPart], Field(max_length=100)]
        | None
    ) = None

    @property
    def text(self) -> str:
        """The text of the message: its string, or its text parts joined (images and the like are skipped)."""
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content if part.type == "text" and part.text)
        return self.content or ""


class StreamOptions(Lenient):
    include_usage: bool = False


class LoreOptions(Input):
    """Where to look, in the extra `lore` field (`extra_body={"lore": {...}}` with the OpenAI SDK)."""

    collection: Name | Annotated[list[Name], Field(min_length=1, max_length=MAX_COLLECTIONS)] | None = None
    filters: FiltersIn | None = None
    sources: bool = Field(
        False, description='Append a "Sources:" list of the cited passages to the message text.'
    )


class ResponseFormat(Lenient):
    type: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="`text`, or `json_object`: the content is a JSON object with `answer`, `citations` and "
        "`abstained`. `json_schema` is refused: Lore cannot shape an answer to a schema."
    )


class ChatCompletionIn(Lenient):
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="`lore` (the configured providers) or `lore/<provider>[,<provider>...]`; see /v1/models."
    )
    messages: Annotated[list[ChatMessageIn], Field(min_length=1, max_length=MAX_CHAT_MESSAGES)] = Field(
        description="The last message is the question (role `user`); earlier user and assistant messages are "
        "the conversation it is read with. System messages are ignored: Lore's own rules apply."
    )
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=1, description="Lore writes one answer per request.")
    max_tokens: int | None = Field(
        None, ge=1, description="Longest answer, in tokens (the extractive provider's are words)."
    )
    max_completion_tokens: int | None = Field(
        None, ge=1, description="The same as `max_tokens`, its newer name."
    )
    response_format: ResponseFormat | None = None
    tools: Annotated[list[dict[str, Any]], Field(max_length=128)] | None = Field(
        None, description="Refused when not empty: Lore answers from the knowledge base and calls no tools."
    )
    functions: Annotated[list[dict[str, Any]], Field(max_length=128)] | None = None
    lore: LoreOptions | None = None

    def answer_limit(self) -> int | None:
        limits = [limit for limit in (self.max_tokens, self.max_completion_tokens) if limit is not None]
        return min(limits) if limits else None

    def question(self) -> str:
        last = self.messages[-1]
        text = last.text.strip()
        if "\x00" in text:
            raise InvalidInput("the question must not contain NUL characters")
        if last.role != "user" or not text:
            raise InvalidInput(
                "the last message must be a user message with text: it is the question",
                details={"role": last.role},
            )
        if len(text) > MAX_QUESTION_CHARS:
            raise InvalidInput(
                f"the question is longer than {MAX_QUESTION_CHARS} characters",
                details={"max_chars": MAX_QUESTION_CHARS},
            )
        return text


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"] = "stop"
    logprobs: None = None


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class LoreAnswerInfo(BaseModel):
    abstained: bool = Field(
        description="Lore said it does not know: the knowledge base had nothing relevant."
    )
    provider: str = Field(description="The provider that answered.")
    retrieval_query: str
    failed_attempts: list[dict[str, str]]
    search_id: str = Field(
        description="Names the answer's retrieval: send feedback on the answer as a `helpful` or "
        "`not_helpful` event with this `search_id`, and clicks on its citations with it (docs/events.md)."
    )


class ChatCompletionOut(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    citations: list[CitationOut] = Field(description="The passages the answer cites as [n] (an extra field).")
    lore: LoreAnswerInfo


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "lore"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


def chunk(
    completion_id: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    """One `chat.completion.chunk` of a streamed answer."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
