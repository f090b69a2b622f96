"""The `anthropic` provider: Anthropic's Messages API, streamed over server-sent events through the official
client library, with its own retries off (the chain retries)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import SecretStr

from lore.answers.availability import reachable
from lore.answers.failures import sdk_errors
from lore.answers.prompt import build_prompt
from lore.answers.types import AnswerRequest, Completion, ProviderEvent, TextDelta, Turn
from lore.logs import request_id_header

if TYPE_CHECKING:
    import anthropic

NO_KEY = "no-key"  # the client refuses to start without one; the server then answers 401


class AnthropicMessages:
    name = "anthropic"

    def __init__(
        self, *, base_url: str, api_key: SecretStr | None, model: str, timeout: float, max_tokens: int
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.base_url = base_url
        self._key = api_key.get_secret_value() if api_key else NO_KEY
        self._timeout = timeout

    @cached_property
    def _client(self) -> anthropic.Anthropic:
        """Made, and the SDK imported, at the first request: a process that never asks pays for neither."""
        import anthropic

        return anthropic.Anthropic(
            base_url=self.base_url, api_key=self._key, timeout=self._timeout, max_retries=0
        )

    def __repr__(self) -> str:
        return f"AnthropicMessages(base_url={self.base_url!r}, model={self.model!r})"

    def unavailable(self) -> str | None:
        return None if reachable(self.base_url) else "unreachable"

    def stream(self, request: AnswerRequest) -> Iterator[ProviderEvent]:
        import anthropic

        prompt = build_prompt(request)
        parts: list[str] = []
        prompt_tokens = completion_tokens = 0
        with sdk_errors(self.name, anthropic):
            stream = self._client.messages.create(
                model=self.model,
                max_tokens=min(self.max_tokens, request.max_tokens or self.max_tokens),
                system=prompt.system,
                messages=[_message(turn) for turn in prompt.messages],
                extra_headers=request_id_header(),
                stream=True,
            )
            with stream as events:
                for event in events:
                    if isinstance(event, anthropic.types.RawMessageStartEvent):
                        prompt_tokens = event.message.usage.input_tokens
                    elif isinstance(event, anthropic.types.RawMessageDeltaEvent):
                        completion_tokens = event.usage.output_tokens
                    elif text := _text(event):
                        parts.append(text)
                        yield TextDelta(text)
        yield Completion("".join(parts), self.model, prompt_tokens, completion_tokens)


def _message(turn: Turn) -> anthropic.types.MessageParam:
    if turn.role == "user":
        return {"role": "user", "content": turn.content}
    return {"role": "assistant", "content": turn.content}


def _text(event: anthropic.types.RawMessageStreamEvent) -> str:
    """The answer's text an event carries ("" for the other kinds of delta: thinking, citations ...)."""
    import anthropic

    delta = event.delta if isinstance(event, anthropic.types.RawContentBlockDeltaEvent) else None
    return delta.text if isinstance(delta, anthropic.types.TextDelta) else ""
