"""The `openai` provider: any server that speaks OpenAI's chat-completions protocol (OpenAI, vLLM, Ollama,
llama.cpp's server, LM Studio), streamed over server-sent events through the official client library, with its
own retries off (the chain retries)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import SecretStr

from lore.answers.availability import reachable
from lore.answers.failures import sdk_errors
from lore.answers.prompt import Prompt, build_prompt
from lore.answers.types import AnswerRequest, Completion, ProviderEvent, TextDelta, Turn
from lore.logs import request_id_header

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionMessageParam

NO_KEY = "no-key"  # local servers (Ollama, llama.cpp) need none, but the client insists on one


class OpenAIChat:
    name = "openai"

    def __init__(
        self, *, base_url: str, api_key: SecretStr | None, model: str, timeout: float, max_tokens: int
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.base_url = base_url
        self._key = api_key.get_secret_value() if api_key else NO_KEY
        self._timeout = timeout

    @cached_property
    def _client(self) -> openai.OpenAI:
        """Made, and the SDK imported, at the first request: a process that never asks pays for neither."""
        import openai

        return openai.OpenAI(base_url=self.base_url, api_key=self._key, timeout=self._timeout, max_retries=0)

    def __repr__(self) -> str:
        return f"OpenAIChat(base_url={self.base_url!r}, model={self.model!r})"

    def unavailable(self) -> str | None:
        return None if reachable(self.base_url) else "unreachable"

    def stream(self, request: AnswerRequest) -> Iterator[ProviderEvent]:
        import openai

        prompt = build_prompt(request)
        parts: list[str] = []
        usage = None
        with sdk_errors(self.name, openai):
            stream = self._client.chat.completions.create(
                model=self.model,
                messages=chat_messages(prompt),
                max_tokens=min(self.max_tokens, request.max_tokens or self.max_tokens),
                stream=True,
                stream_options={"include_usage": True},
                extra_headers=request_id_header(),
            )
            with stream as chunks:
                for chunk in chunks:
                    usage = chunk.usage or usage
                    text = "".join(choice.delta.content or "" for choice in chunk.choices[:1])
                    if text:
                        parts.append(text)
                        yield TextDelta(text)
        text = "".join(parts)
        prompt_tokens = (
            usage.prompt_tokens if usage else _words(prompt.system, *(m.content for m in prompt.messages))
        )
        completion_tokens = usage.completion_tokens if usage else _words(text)
        yield Completion(text, self.model, prompt_tokens, completion_tokens)


def chat_messages(prompt: Prompt) -> list[ChatCompletionMessageParam]:
    """`Prompt.as_chat`, in the client library's message types."""
    return [{"role": "system", "content": prompt.system}, *map(_message, prompt.messages)]


def _message(turn: Turn) -> ChatCompletionMessageParam:
    if turn.role == "user":
        return {"role": "user", "content": turn.content}
    return {"role": "assistant", "content": turn.content}


def _words(*texts: str) -> int:
    """A stand-in token count for servers that report no usage."""
    return sum(len(text.split()) for text in texts)
