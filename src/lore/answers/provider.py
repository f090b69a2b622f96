"""The contract every answer provider implements, and the non-streaming call built on it.

>>> for event in provider.stream(AnswerRequest("How do I reset my password?", hits)):
...     print(event)
TextDelta(text='Open Settings and choose Reset password [1].')
Completion(text='Open Settings and choose Reset password [1].', model='extractive-1', ...)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from lore.answers.errors import ProviderNotConfigured, ProviderUnavailable
from lore.answers.types import AnswerRequest, Completion, ProviderEvent


class Provider(Protocol):
    """Streams an answer: zero or more `TextDelta`s, then exactly one `Completion`.

    Failures are `ProviderUnavailable` when another attempt may succeed (timeout, connection, 5xx, 429) and
    `ProviderFailed` when it cannot; neither carries the server's message nor any credential.
    """

    name: str
    model: str

    def stream(self, request: AnswerRequest) -> Iterator[ProviderEvent]: ...


def complete(provider: Provider, request: AnswerRequest) -> Completion:
    """The whole answer at once: the stream, drained."""
    for event in provider.stream(request):
        if isinstance(event, Completion):
            return event
    raise ProviderUnavailable(provider.name, "incomplete_stream")


@dataclass(slots=True)
class Unconfigured:
    """Stands in for a provider whose settings are incomplete: every answer is refused at once, naming the
    setting to set, instead of being sent where it can only fail (and be retried)."""

    name: str
    setting: str
    why: str
    model: str = "unconfigured"

    def stream(self, request: AnswerRequest) -> Iterator[ProviderEvent]:
        raise ProviderNotConfigured(self.name, self.setting, self.why)

    def unavailable(self) -> str | None:
        return "not_configured"
